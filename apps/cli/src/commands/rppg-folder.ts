import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { type LayoutName, layoutNames } from "@hrpipe/contracts";
import {
  detectLayout,
  frameClock,
  layouts,
  ReferenceRate,
  readReference,
  recordedFrameRateHz,
} from "@hrpipe/datasets";
import { encodeImageSequence, scratchDir } from "@hrpipe/media";
import {
  agreement,
  bandAgreement,
  type RppgMethod,
  type RppgOptions,
  type RppgVideoEstimate,
  rppgVideoEstimate,
} from "@hrpipe/signal";
import { formatTable, UserError } from "../output.ts";

/** One video of a folder report: the shape report.json's `videos[]` has (README, "Formats"). */
export interface VideoReport {
  subject: string;
  video: string;
  durationS: number | null;
  referenceHrBpm: number | null;
  excluded: string | null;
  methods: Partial<
    Record<
      RppgMethod,
      {
        hrBpm: number | null;
        windows: (RppgVideoEstimate["windows"][number] & { referenceHrBpm: number | null })[];
      }
    >
  >;
}

/** Measures one video's skin colour; the rppg command's face path. */
export type VideoTraces = (
  file: string,
) => Promise<{ fsHz: number; durationS: number; rgb: Float32Array | Float64Array; faceFound: Uint8Array }>;

async function listFolder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

function paired(pairs: [number | null, number | null][]): [number[], number[]] {
  const both = pairs.filter((pair): pair is [number, number] => pair[0] !== null && pair[1] !== null);
  return [both.map(([estimate]) => estimate), both.map(([, reference]) => reference)];
}

/**
 * `hrpipe rppg <folder>`: every video of a dataset folder (its layout given or detected), every
 * method, against the folder's references where it has them; report.json holds `videos[]` and the
 * methods' agreement with the references per video and per window.
 */
export async function rppgFolder(
  root: string,
  options: { out: string; layout?: string; methods: RppgMethod[]; estimate: RppgOptions },
  traces: VideoTraces,
): Promise<number> {
  const files = await listFolder(root);
  // "auto", the flag's default as in hrpipe run: the layout the files show.
  const named = options.layout === "auto" ? undefined : options.layout;
  if (named && !layoutNames.includes(named as LayoutName))
    throw new UserError(`--layout must be one of auto, ${layoutNames.join(", ")}, got ${named}.`);
  const layout = named ? layouts[named as LayoutName] : detectLayout(files);
  if (!layout)
    throw new UserError(
      `${root} holds no videos and no dataset layout hrpipe knows (${layoutNames.join(", ")}); pass a folder of videos or --layout.`,
    );
  const texts = new Map<string, string>();
  for (const file of files.filter((f) => /(^|\/)manifest\.csv$/.test(f)))
    texts.set(file, await readFile(path.join(root, file), "utf8"));
  let listing: ReturnType<typeof layout.list>;
  try {
    listing = layout.list(files, (file) => texts.get(file) ?? "");
  } catch (error) {
    throw new UserError(`${root}: ${(error as Error).message}`);
  }
  const videos: VideoReport[] = [];
  for (const [index, recording] of listing.recordings.entries()) {
    const report: VideoReport = {
      subject: recording.subject,
      video: recording.video,
      durationS: null,
      referenceHrBpm: null,
      excluded: null,
      methods: {},
    };
    videos.push(report);
    process.stderr.write(`rppg [${index + 1}/${listing.recordings.length}] ${recording.video}\n`);
    if (recording.excluded) {
      report.excluded = recording.excluded;
      continue;
    }
    let measured: Awaited<ReturnType<VideoTraces>>;
    const images = recording.frames === "video" ? undefined : recording.frames;
    const scratch = images && (await scratchDir("images"));
    try {
      let video = path.join(root, recording.video);
      if (images && scratch) {
        // A frame folder is measured as the lossless video of its images, frame k being image k.
        video = path.join(scratch, "frames.mkv");
        await encodeImageSequence(
          images.files.map((file) => path.join(root, file)),
          images.fps,
          video,
        );
      }
      measured = await traces(video);
    } catch (error) {
      report.excluded = `${recording.video} could not be decoded (${(error as Error).message.split("\n")[0]}); the video is left out.`;
      continue;
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
    let reference: ReferenceRate | undefined;
    if (recording.reference) {
      try {
        const read = (file: string) => readFile(path.join(root, file), "utf8");
        const { signal, frameTimeS } = readReference(
          { ...recording.reference, layout: layout.name, frameTimes: recording.frameTimes },
          {
            reference: await read(recording.reference.file),
            frameTimes: recording.frameTimes && (await read(recording.frameTimes.file)),
          },
        );
        if (frameTimeS) {
          // As the decode stage re-times such a video: the same frames, on the rate the record gives.
          const frameCount = measured.faceFound.length;
          const rateHz = recordedFrameRateHz(frameTimeS, { fps: measured.fsHz, frameCount });
          if (rateHz) measured = { ...measured, fsHz: rateHz, durationS: frameCount / rateHz };
        }
        reference = new ReferenceRate(signal, frameTimeS && frameClock(frameTimeS, measured.fsHz));
        report.referenceHrBpm = reference.whole(measured.durationS);
      } catch (error) {
        report.excluded = `${recording.reference.file}: ${(error as Error).message}`;
      }
    }
    report.durationS = measured.durationS;
    for (const method of options.methods) {
      const estimate = rppgVideoEstimate(
        method,
        measured.rgb,
        measured.faceFound,
        measured.fsHz,
        options.estimate,
      );
      report.methods[method] = {
        hrBpm: estimate.hrBpm,
        windows: estimate.windows.map((w) => ({
          ...w,
          referenceHrBpm: reference?.window(w.startS, w.endS)?.hrBpm ?? null,
        })),
      };
    }
  }
  const scored = videos.filter((v) => v.excluded === null && v.referenceHrBpm !== null);
  const metricsOf = (method: RppgMethod) => {
    const windows = paired(
      scored.flatMap((v) =>
        (v.methods[method]?.windows ?? []).map(
          (w) => [w.hrBpm, w.referenceHrBpm] as [number | null, number | null],
        ),
      ),
    );
    return {
      videos: agreement(...paired(scored.map((v) => [v.methods[method]?.hrBpm ?? null, v.referenceHrBpm]))),
      windows: agreement(...windows),
      windowBands: bandAgreement(...windows),
    };
  };
  const metrics = Object.fromEntries(options.methods.map((method) => [method, metricsOf(method)]));
  await writeFile(
    options.out,
    `${JSON.stringify({ source: root, layout: layout.name, createdAt: new Date().toISOString(), videos, metrics, ignored: listing.ignored }, null, 2)}\n`,
  );
  const fmt = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : "-");
  const excluded = videos.filter((v) => v.excluded !== null);
  process.stdout.write(
    `${layout.name}: ${videos.length} videos, ${scored.length} with a reference, ${excluded.length} excluded\n`,
  );
  for (const v of excluded) process.stdout.write(`  excluded ${v.video}: ${v.excluded}\n`);
  if (scored.length > 0) {
    const ranked = [...options.methods].sort((a, b) => metrics[a]!.videos.mae - metrics[b]!.videos.mae);
    process.stdout.write(
      `${formatTable(
        [
          "method",
          "videos",
          "video MAE",
          "video RMSE",
          "r",
          "windows",
          "window MAE",
          "bias [95% LoA]",
          "band acc.",
          "band F1",
        ],
        ranked.map((method) => {
          const { videos: perVideo, windows, windowBands } = metrics[method]!;
          return [
            method,
            String(perVideo.n),
            fmt(perVideo.mae),
            fmt(perVideo.rmse),
            fmt(perVideo.pearsonR),
            String(windows.n),
            fmt(windows.mae),
            `${fmt(windows.bias)} [${fmt(windows.loaLower)}, ${fmt(windows.loaUpper)}]`,
            fmt(windowBands.accuracy),
            fmt(windowBands.macroF1),
          ];
        }),
      )}\n`,
    );
  } else {
    const rows = videos
      .filter((v) => v.excluded === null)
      .map((v) => [
        v.subject,
        v.video,
        ...options.methods.map((m) => (v.methods[m]?.hrBpm ?? Number.NaN).toFixed(1)),
      ]);
    process.stdout.write(`${formatTable(["subject", "video", ...options.methods], rows)}\n`);
  }
  process.stdout.write(`wrote ${options.out}\n`);
  return scored.length + videos.filter((v) => v.excluded === null).length > 0 ? 0 : 1;
}

export async function isFolder(input: string): Promise<boolean> {
  return (await stat(input)).isDirectory();
}

import { rm, writeFile } from "node:fs/promises";
import {
  artifactKeys,
  type EstimatorName,
  jobIds,
  loadConfig,
  newRunId,
  type VideoEstimate,
  type VideoReport,
} from "@hrpipe/contracts";
import { type EstimationOptions, runVideoReports } from "@hrpipe/estimation";
import { scratchDir } from "@hrpipe/media";
import { createLogger, FileStorage, InlineRunner, readManifest, type Storage } from "@hrpipe/runtime";
import { agreement, bandAgreement } from "@hrpipe/signal";
import { decodeStage } from "@hrpipe/worker-decode";
import { faceStage } from "@hrpipe/worker-face";
import { ingestStage } from "@hrpipe/worker-ingest";
import { labelsStage } from "@hrpipe/worker-labels";
import { neuralStage } from "@hrpipe/worker-neural";
import { formatTable, UserError } from "../output.ts";
import { ingestPayload, type RunCommandOptions } from "../run-options.ts";
import { uploadFolder } from "../upload.ts";
import { readInstalledModel } from "./neural.ts";

function paired(pairs: [number | null, number | null][]): [number[], number[]] {
  const both = pairs.filter((pair): pair is [number, number] => pair[0] !== null && pair[1] !== null);
  return [both.map(([estimate]) => estimate), both.map(([, reference]) => reference)];
}

/** One video of the folder report: report.json's `videos[]` without the figure, with the methods asked for. */
type FolderVideo = Omit<VideoReport, "figure">;

/**
 * `hrpipe rppg <folder>`: the pipeline's own steps on this machine, without Redis (an InlineRunner):
 * the folder stored by content in a scratch file storage, the ingest plan (its layout given or
 * detected), decode, the face stage and the references' labels, then every video measured as the run
 * report measures it (runVideoReports). `hrpipe run` on the same folder with the same options gives
 * the same rates against the same references; no CNN runs, and the imported networks asked for run as
 * imported (the neural stage; fine-tuning needs a run's protocols). report.json holds `videos[]` and the
 * methods' agreement with the references per video and per window.
 */
export async function rppgFolder(
  root: string,
  options: {
    out: string;
    methods: EstimatorName[];
    estimate: Pick<EstimationOptions, "harmonicWeight">;
    run: RunCommandOptions;
    /** Print every video's RMSSD per method (--hrv); report.json holds the HRV either way. */
    hrv?: boolean;
    /** Imported networks to run (also named in `methods`), and the storage they were imported into. */
    networks?: { names: string[]; storage: Storage };
  },
): Promise<number> {
  const runId = newRunId();
  const payload = { ...(await ingestPayload(runId, "", options.run)), neural: options.networks?.names ?? [] };
  const scratch = await scratchDir("rppg");
  try {
    const storage = new FileStorage(scratch);
    if (options.networks) await copyModels(options.networks.storage, storage, options.networks.names);
    const upload = await uploadFolder(storage, root);
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
    let jobs = 0;
    const runner = new InlineRunner([ingestStage, labelsStage, decodeStage, faceStage, neuralStage], {
      config: loadConfig(),
      logger,
      storage,
      onJob: (job) => {
        jobs++;
        if (job.stage === "decode")
          process.stderr.write(`rppg: ${job.payload.videoName ?? job.payload.videoId} (job ${jobs})\n`);
      },
    });
    const ingest = jobIds.ingest(runId);
    const outcome = await runner.run({
      stage: "ingest",
      jobId: ingest,
      payload: { ...payload, datasetPrefix: upload.datasetPrefix },
    });
    const refused = outcome.failures[`ingest:${ingest}`];
    if (refused) throw new UserError(`${root}: ${refused}`);
    const manifest = await readManifest(storage, runId);
    const videos: FolderVideo[] = (
      await runVideoReports(storage, manifest, [], { ...manifest.options.eval, ...options.estimate })
    ).map((video) => ({
      ...video,
      methods: Object.fromEntries(
        options.methods.flatMap((m) => (video.methods[m] ? [[m, video.methods[m]]] : [])),
      ),
    }));
    return await writeFolderReport(root, manifest.layout, videos, manifest.excluded, options);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The named networks' files, from the storage they were imported into to the folder run's scratch storage. */
async function copyModels(from: Storage, to: Storage, names: string[]): Promise<void> {
  for (const name of names) {
    const nameKey = artifactKeys.neuralModelName(name);
    const { hash } = await readInstalledModel(from, name);
    for (const file of ["model.onnx", "weights.safetensors", "model.json"] as const)
      await to.put(
        artifactKeys.neuralModel(hash, file),
        await from.get(artifactKeys.neuralModel(hash, file)),
      );
    await to.put(nameKey, await from.get(nameKey));
  }
}

async function writeFolderReport(
  root: string,
  layout: string,
  videos: FolderVideo[],
  exclusions: unknown[],
  options: { out: string; methods: EstimatorName[]; hrv?: boolean },
): Promise<number> {
  const scored = videos.filter((v) => v.excluded === null && v.referenceHrBpm !== null);
  const metricsOf = (method: EstimatorName) => {
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
    `${JSON.stringify({ source: root, layout, createdAt: new Date().toISOString(), videos, metrics, exclusions }, null, 2)}\n`,
  );
  const fmt = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : "-");
  const excluded = videos.filter((v) => v.excluded !== null);
  process.stdout.write(
    `${layout}: ${videos.length} videos, ${scored.length} with a reference, ${excluded.length} excluded\n`,
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
  if (options.hrv) {
    // RMSSD per video and method, with the share of flagged intervals behind it.
    const cell = (hrv: NonNullable<VideoEstimate["hrv"]> | undefined) =>
      hrv?.whole.rmssdMs == null
        ? "-"
        : `${hrv.whole.rmssdMs.toFixed(0)} (${((hrv.whole.flaggedShare ?? 0) * 100).toFixed(0)}%)`;
    const rows = videos
      .filter((v) => v.excluded === null)
      .map((v) => [v.subject, v.video, ...options.methods.map((m) => cell(v.methods[m]?.hrv))]);
    process.stdout.write(
      `RMSSD per video, ms (flagged intervals):\n${formatTable(["subject", "video", ...options.methods], rows)}\n`,
    );
  }
  process.stdout.write(`wrote ${options.out}\n`);
  return videos.some((v) => v.excluded === null) ? 0 : 1;
}

import { steadyRateHz } from "@hrpipe/signal";
import { basename, type DatasetLayout, dirname, type Listing, type Recording, utf8 } from "./layout.ts";
import { naturalOrder } from "./ubfc-rppg.ts";

/** As it arrives: every field is checked before it is used. */
interface PureJson {
  "/FullPackage"?: { Timestamp?: unknown; Value?: { waveform?: unknown } }[];
  "/Image"?: { Timestamp?: unknown }[];
}

/** A PURE frame: Image<capture time in ns>.png. */
const imageName = /^Image(\d+)\.png$/i;

/**
 * Frames per second from capture times in ns: the camera's rate between dropped frames (as
 * recordedFrameRateHz gives a video with a frame-times record), else PURE's nominal 30.
 */
function frameRate(timesNs: bigint[]): number {
  const timeS = timesNs.map((t) => Number(t - timesNs[0]!) / 1e9);
  return timeS.length > 1 && timeS.at(-1)! > 0 ? steadyRateHz(timeS) : 30;
}

/**
 * PURE (Stricker, Mueller & Gross 2014): `NN-MM/` folders of PNG frames named Image<ns>.png and a
 * sibling `NN-MM.json` whose `/FullPackage` holds the pulse oximeter's waveform and `/Image` every
 * frame's timestamp, both in nanoseconds on one clock.
 */
export const pure: DatasetLayout = {
  name: "pure",

  detect(files) {
    return files.some((file) => /(^|\/)\d{2}-\d{2}\/Image\d+\.png$/i.test(file));
  },

  list(files): Listing {
    const recordings: Recording[] = [];
    const used = new Set<string>();
    const images = files.filter((file) => imageName.test(basename(file)));
    const folders = [...new Set(images.map(dirname))].sort(naturalOrder);
    for (const folder of folders) {
      const name = basename(folder);
      const match = /^(\d{2})-(\d{2})$/.exec(name);
      if (!match) continue;
      const frames = images
        .filter((file) => dirname(file) === folder)
        .map((file) => ({ file, timeNs: BigInt(imageName.exec(basename(file))![1]!) }))
        .sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
      for (const file of files) if (dirname(file) === folder) used.add(file);
      const json = files.find((file) => file === `${folder}.json` || file === `${folder}/${name}.json`);
      if (json) used.add(json);
      recordings.push({
        subject: match[1]!,
        video: folder,
        frames: { files: frames.map((frame) => frame.file), fps: frameRate(frames.map((f) => f.timeNs)) },
        ...(json
          ? { reference: { file: json, kind: "ppg" as const } }
          : {
              excluded: `${folder}/ has frames but no ${name}.json beside it; add the recording's JSON to score it.`,
            }),
      });
    }
    return {
      recordings,
      ignored: files
        .filter((file) => !used.has(file))
        .map((file) => ({ file, reason: "not a PURE frame folder (NN-MM/Image<ns>.png) or its NN-MM.json" })),
    };
  },

  parseReference(source, contents) {
    const text = utf8(contents);
    let json: PureJson;
    try {
      json = JSON.parse(text) as PureJson;
    } catch (error) {
      throw new Error(
        `${source.file} is not valid JSON (${(error as Error).message}); is it a PURE recording's JSON?`,
      );
    }
    const pulse = json?.["/FullPackage"];
    const images = json?.["/Image"];
    if (!Array.isArray(pulse) || !Array.isArray(images) || pulse.length === 0 || images.length === 0)
      throw new Error(
        `${source.file} has no "/FullPackage" or "/Image" entries; is it a PURE recording's JSON?`,
      );
    const number = (value: unknown, what: string, index: number): number => {
      if (typeof value !== "number" || !Number.isFinite(value))
        throw new Error(
          `${source.file}: ${what} of entry ${index + 1} is not a number; the file is damaged.`,
        );
      return value;
    };
    const origin = number(images[0]?.Timestamp, '"/Image" Timestamp', 0);
    return {
      kind: "ppg",
      timeS: Float64Array.from(
        pulse,
        (entry, i) => (number(entry?.Timestamp, '"/FullPackage" Timestamp', i) - origin) / 1e9,
      ),
      values: Float64Array.from(pulse, (entry, i) =>
        number(entry?.Value?.waveform, '"/FullPackage" waveform', i),
      ),
      frameTimeS: Float64Array.from(
        images,
        (entry, i) => (number(entry?.Timestamp, '"/Image" Timestamp', i) - origin) / 1e9,
      ),
    };
  },
};

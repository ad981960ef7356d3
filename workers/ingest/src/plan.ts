import { createHash } from "node:crypto";
import {
  datasetLayoutNames,
  datasetPrefixOf,
  type Exclusion,
  type ImageSequence,
  type Payload,
  type RunManifest,
  runOptionsOf,
  safeKey,
  uploadKeys,
} from "@hrpipe/contracts";
import { basename, type DatasetLayout, detectLayout, genericManifestName, layouts } from "@hrpipe/datasets";
import { BadInputError } from "@hrpipe/runtime";

/** One file of a dataset: its path as the dataset names it, and the storage key that holds it. */
export interface DatasetFile {
  path: string;
  key: string;
}

/** Where a run's dataset is: the storage's URL, every file of the dataset, and the small files layouts read. */
export interface DatasetLocation {
  storageUrl: string;
  files: DatasetFile[];
  /** Entries of an uploaded folder that were not uploaded (a symbolic link, a hidden file), with why. */
  skipped?: { path: string; reason: string }[];
  /** The text of each file a layout reads to list the dataset (the generic layout's manifest.csv), by path. */
  texts: Record<string, string>;
  createdAt: string;
}

/** The files a layout reads to list a dataset: the planner's caller reads them from storage. */
export function layoutTextFiles(paths: string[]): string[] {
  return paths.filter((file) => basename(file) === genericManifestName);
}

/** Looks like data (a video or a .mat) rather than notes or thumbnails. */
const dataFile = /\.(mov|mp4|avi|mkv|webm|m4v|mat)$/i;

/** A dataset name made into an id jobs and keys can carry: letters, digits, '-' and '_'. */
function idOf(name: string): string {
  const id = name
    .replace(/\.[^./]+$/, "")
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return (id || "video").slice(0, 48);
}

/** A planned run: its manifest, and the image sequences (frame folders) its videos are, for the caller to store. */
export interface RunPlan {
  manifest: RunManifest;
  imageSequences: { key: string; sequence: ImageSequence }[];
}

/** A frame folder as decode reads it, under the hash of its content (frame keys, order and rate). */
function imageSequenceOf(
  folder: string,
  frames: { files: string[]; fps: number },
  keyOf: Map<string, string>,
): { key: string; sequence: ImageSequence } {
  const sequence: ImageSequence = {
    format: "hrpipe-image-sequence",
    version: 1,
    folder,
    fps: frames.fps,
    frames: frames.files.map((path) => ({ path, key: keyOf.get(path)! })),
  };
  const hash = createHash("sha256").update(JSON.stringify(sequence)).digest("hex");
  return { key: uploadKeys.imageSequence(hash), sequence };
}

/**
 * Plans a run from its dataset listing (a pure function: no Redis, storage or ffmpeg), with the
 * layout the ingest names or the one its files show (packages/datasets). Every listed file ends up in
 * the plan, in the exclusions (meant as data but unusable, with how to fix it) or among the ignored
 * files (not part of the layout), with a reason. A video with its own reference file carries it to
 * decode, which adds its labels job; AMIGOS's per-participant .mat files get one labels job each.
 */
export function planRun(payload: Payload<"ingest">, dataset: DatasetLocation): RunPlan {
  const where = `${dataset.storageUrl}/${datasetPrefixOf(payload)}`;
  const excluded: Exclusion[] = [];
  const ignored: RunManifest["ignored"] = [];
  // A key storage cannot hold (a listed prefix with spaces, say) cannot be read by any stage.
  const usable = dataset.files.filter(({ path, key }) => {
    try {
      safeKey(key);
      return true;
    } catch (error) {
      if (dataFile.test(path))
        excluded.push({
          stage: "ingest",
          participant: "-",
          key,
          path,
          reason: `${(error as Error).message} Rename it (or its folder) to use it.`,
        });
      else ignored.push({ key, reason: `${JSON.stringify(path)} is not a file of the dataset's layout.` });
      return false;
    }
  });
  const paths = usable.map((f) => f.path);
  const layout = payload.layout === "auto" ? detectLayout(paths) : layouts[payload.layout];
  if (!layout)
    throw new BadInputError(
      `${where} holds no videos and no dataset layout hrpipe knows (${datasetLayoutNames.slice(1).join(", ")}); check the dataset, or name its layout.`,
    );
  const keyOf = new Map(usable.map((f) => [f.path, f.key]));
  let listing: ReturnType<DatasetLayout["list"]>;
  try {
    listing = layout.list(paths, (file) => dataset.texts[file] ?? "");
  } catch (error) {
    throw new BadInputError(`${where}: ${(error as Error).message}`);
  }
  for (const { file, subject, reason } of listing.excluded ?? [])
    excluded.push({
      stage: "ingest",
      participant: subject ?? "-",
      key: keyOf.get(file)!,
      path: file,
      reason,
    });
  for (const { file, reason } of listing.ignored)
    ignored.push({ key: keyOf.get(file)!, reason: `${file}: ${reason}.` });
  // Left out at upload: they have no key, so their path stands in for one.
  const skipped = dataset.skipped ?? [];
  for (const { path, reason } of skipped) ignored.push({ key: path, reason: `${path}: ${reason}.` });

  const participants = new Map<string, string>();
  const videos: RunManifest["videos"] = [];
  const imageSequences: RunPlan["imageSequences"] = [];
  const taken = new Set<string>();
  for (const recording of listing.recordings) {
    const participant = idOf(recording.subject);
    const ownId = recording.id ?? idOf(basename(recording.video));
    let videoId = ownId;
    for (let n = 2; taken.has(`${participant}/${videoId}`); n++) videoId = `${ownId}-${n}`;
    taken.add(`${participant}/${videoId}`);
    // A frame folder has no key of its own: its exclusions name the folder, and it is planned as the
    // image sequence its frames make.
    const fileKey = keyOf.get(recording.video);
    const exclude = (reason: string) =>
      excluded.push({
        stage: "ingest",
        participant,
        videoId,
        ...(fileKey ? { key: fileKey } : {}),
        path: recording.video,
        reason,
      });
    if (recording.excluded) {
      exclude(recording.excluded);
      continue;
    }
    const imageSequence =
      recording.frames === "video" ? undefined : imageSequenceOf(recording.video, recording.frames, keyOf);
    const videoKey = imageSequence?.key ?? fileKey;
    if (!videoKey) {
      exclude(`${recording.video} is not in the dataset; add it or fix the listing that names it.`);
      continue;
    }
    const reference = recording.reference;
    const referenceKey = reference && keyOf.get(reference.file);
    const frameTimesKey = recording.frameTimes && keyOf.get(recording.frameTimes.file);
    if (reference && (!referenceKey || (recording.frameTimes && !frameTimesKey))) {
      exclude(
        `${recording.video}'s reference ${reference.file} is not in the dataset; add it to score the video.`,
      );
      continue;
    }
    const video: RunManifest["videos"][number] = {
      participant,
      videoId,
      videoKey,
      ...(imageSequence ? { imageSequence: true } : {}),
      path: recording.video,
    };
    if (reference?.trial !== undefined) {
      // One file holds every trial of the participant (AMIGOS): labelled once per participant.
      participants.set(participant, referenceKey!);
    } else if (reference) {
      const { trial: _trial, ...source } = reference;
      video.reference = {
        layout: layout.name,
        ...source,
        key: referenceKey!,
        ...(recording.frameTimes && frameTimesKey
          ? { frameTimes: { ...recording.frameTimes, key: frameTimesKey } }
          : {}),
      };
    }
    videos.push(video);
    if (imageSequence) imageSequences.push(imageSequence);
  }
  const planned = new Set([...participants.keys(), ...videos.map((v) => v.participant)]);
  const strangers = Object.keys(payload.ecgOffsetsS).filter((participant) => !planned.has(participant));
  if (strangers.length > 0)
    throw new BadInputError(
      `the ECG offsets name ${strangers.join(", ")}, which ${where} does not have (its participants: ${[...planned].sort().slice(0, 12).join(", ")}${planned.size > 12 ? ", ..." : ""}); fix the offsets file's participant column.`,
    );
  const excludedFiles = excluded.filter((e) => e.key !== undefined).length;
  const manifest: RunManifest = {
    version: 1,
    runId: payload.runId,
    createdAt: dataset.createdAt,
    state: "planned",
    storageUrl: dataset.storageUrl,
    datasetPrefix: datasetPrefixOf(payload),
    layout: layout.name,
    options: runOptionsOf(payload),
    participants: [...participants].sort().map(([participant, matKey]) => ({ participant, matKey })),
    videos,
    artifacts: [],
    splits: {},
    features: null,
    networks: [],
    jobs: null,
    reused: { labels: 0, faceSegments: 0 },
    excluded,
    ignored,
    files: {
      listed: dataset.files.length + skipped.length,
      planned: dataset.files.length + skipped.length - excludedFiles - ignored.length,
      excluded: excludedFiles,
      ignored: ignored.length,
    },
    notEvaluated: [],
  };
  return { manifest, imageSequences };
}

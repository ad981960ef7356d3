import {
  basename,
  type DatasetLayout,
  detectLayout,
  genericManifestName,
  layoutNames,
  layouts,
} from "@hrpipe/datasets";
import {
  BadInputError,
  type DatasetLayoutName,
  datasetPrefixOf,
  type Exclusion,
  jobIds,
  normaliseParticipant,
  type Payload,
  type PayloadInput,
  type RunManifest,
  runOptionsOf,
  safeKey,
} from "@hrpipe/queue";

const matPattern = /(?:^|\/)Data_Preprocessed_(P\d{1,4})\.mat$/i;
const videoPattern = /(?:^|\/)(P\d{1,4})_([A-Za-z0-9]{1,64})_face\.(mov|mp4|avi|mkv)$/i;
const videoExtension = /\.(mov|mp4|avi|mkv)$/i;
const layout = "Data_Preprocessed_Pxx.mat and Pxx_<video>_face.mov|mp4|avi|mkv";

/** What one file of a dataset listing is to the plan. */
type FileRole =
  | { role: "ecg"; participant: string }
  | { role: "video"; participant: string; videoId: string }
  /** Meant as data (a .mat or a video) but unusable as named: excluded, with how to fix it. */
  | { role: "excluded"; participant: string; reason: string }
  /** Not a file of the layout at all (notes, ground truth, thumbnails): listed with the reason. */
  | { role: "ignored"; reason: string };

function roleOf(key: string): FileRole {
  const name = key.split("/").pop() ?? key;
  const participant = /^P0*(\d{1,4})(?!\d)/i.exec(name)
    ? normaliseParticipant(/^(P\d{1,4})/i.exec(name)![1]!)
    : "-";
  try {
    safeKey(key);
  } catch (error) {
    if (matPattern.test(key) || videoExtension.test(key))
      return {
        role: "excluded",
        participant,
        reason: `${(error as Error).message} Rename it (or its folder) to use it.`,
      };
    return { role: "ignored", reason: `${JSON.stringify(key)} is not a file of the layout (${layout}).` };
  }
  const mat = matPattern.exec(key);
  if (mat) return { role: "ecg", participant: normaliseParticipant(mat[1]!) };
  const video = videoPattern.exec(key);
  if (video)
    return {
      role: "video",
      participant: normaliseParticipant(video[1]!),
      // The .mat's VideoIDs say 4 where a file may say 04.
      videoId: video[2]!.replace(/^0+(?=\d)/, ""),
    };
  if (videoExtension.test(key))
    return {
      role: "excluded",
      participant,
      reason: `${key} looks like a face video but is not named Pxx_<video>_face.<ext> (letters and digits only in Pxx and <video>); rename it, e.g. to P01_5_face.mov, to use it.`,
    };
  if (/\.mat$/i.test(key))
    return {
      role: "excluded",
      participant,
      reason: `${key} is a .mat file but not named Data_Preprocessed_Pxx.mat; rename it to use it.`,
    };
  return { role: "ignored", reason: `${key} is not a file of the layout (${layout}).` };
}

/** One file of a dataset: its path as the dataset names it, and the storage key that holds it. */
export interface DatasetFile {
  path: string;
  key: string;
}

/** Where a run's dataset is: the storage's URL, every file of the dataset, and the small files layouts read. */
export interface DatasetLocation {
  storageUrl: string;
  files: DatasetFile[];
  /** The text of each file a layout reads to list the dataset (the generic layout's manifest.csv), by path. */
  texts: Record<string, string>;
  createdAt: string;
}

/** The files a layout reads to list a dataset: the planner's caller reads them from storage. */
export function layoutTextFiles(paths: string[]): string[] {
  return paths.filter((file) => basename(file) === genericManifestName);
}

/** The layout a run reads its dataset with: the one asked for, or AMIGOS's when its files are there, else detected. */
function resolveLayout(
  asked: DatasetLayoutName,
  files: DatasetFile[],
): Exclude<DatasetLayoutName, "auto"> | undefined {
  if (asked !== "auto") return asked;
  if (files.some(({ key }) => matPattern.test(key) || videoPattern.test(key))) return "amigos";
  return detectLayout(files.map((f) => f.path))?.name;
}

/**
 * Plans a run from its dataset listing (a pure function: no Redis, storage or ffmpeg). Every listed
 * file ends up in the plan, in the exclusions (meant as data but unusable, with how to fix it) or
 * among the ignored files (not part of the layout), with a reason.
 */
export function planRun(payload: Payload<"ingest">, dataset: DatasetLocation): RunManifest {
  const layout = resolveLayout(payload.layout, dataset.files);
  if (!layout)
    throw new BadInputError(
      `${dataset.storageUrl}/${datasetPrefixOf(payload)} holds no videos and no dataset layout hrpipe knows (amigos, ${layoutNames.join(", ")}); check the dataset, or name its layout.`,
    );
  const planned =
    layout === "amigos" ? planAmigos(payload, dataset) : planLayout(layouts[layout], payload, dataset);
  const { videos, excluded, ignored } = planned;
  return {
    version: 1,
    runId: payload.runId,
    createdAt: dataset.createdAt,
    state: "planned",
    storageUrl: dataset.storageUrl,
    datasetPrefix: datasetPrefixOf(payload),
    layout,
    options: runOptionsOf(payload),
    participants: planned.participants,
    videos,
    artifacts: [],
    splits: {},
    reused: { labels: 0, faceSegments: 0 },
    excluded,
    ignored,
    files: {
      listed: dataset.files.length,
      planned: dataset.files.length - excluded.filter((e) => e.key !== undefined).length - ignored.length,
      excluded: excluded.filter((e) => e.key !== undefined).length,
      ignored: ignored.length,
    },
    notEvaluated: [],
  };
}

type PlannedDataset = Pick<RunManifest, "participants" | "videos" | "excluded" | "ignored">;

/**
 * AMIGOS: `Data_Preprocessed_Pxx.mat` per participant and `Pxx_<videoId>_face.<ext>` per video (any
 * sub-folders); P1 and P01 are the same person, and so are video ids 4 and 04.
 */
function planAmigos(payload: Payload<"ingest">, dataset: DatasetLocation): PlannedDataset {
  const participants = new Map<string, string>();
  const videos: RunManifest["videos"] = [];
  const excluded: Exclusion[] = [];
  const ignored: RunManifest["ignored"] = [];
  for (const { key } of dataset.files) {
    const file = roleOf(key);
    if (file.role === "ecg") {
      const first = participants.get(file.participant);
      if (first)
        excluded.push({
          stage: "ingest",
          participant: file.participant,
          key,
          reason: `${key} duplicates ${first}; the first is used.`,
        });
      else participants.set(file.participant, key);
    } else if (file.role === "video") {
      videos.push({ participant: file.participant, videoId: file.videoId, videoKey: key });
    } else if (file.role === "excluded") {
      excluded.push({ stage: "ingest", participant: file.participant, key, reason: file.reason });
    } else ignored.push({ key, reason: file.reason });
  }
  const labelled = videos.filter((video) => {
    if (participants.has(video.participant)) return true;
    excluded.push({
      stage: "ingest",
      participant: video.participant,
      videoId: video.videoId,
      key: video.videoKey,
      reason: `no Data_Preprocessed_${video.participant}.mat in ${dataset.storageUrl}/${datasetPrefixOf(payload)}, so ${video.videoKey} has no ECG labels.`,
    });
    return false;
  });
  return {
    participants: [...participants].sort().map(([participant, matKey]) => ({ participant, matKey })),
    videos: labelled.sort((a, b) => a.videoKey.localeCompare(b.videoKey)),
    excluded,
    ignored,
  };
}

/** A dataset name made into an id jobs and keys can carry: letters, digits, '-' and '_'. */
function idOf(name: string): string {
  const id = name
    .replace(/\.[^./]+$/, "")
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return (id || "video").slice(0, 48);
}

/**
 * A layout of packages/datasets (UBFC-rPPG, PURE, a generic manifest, a folder of videos): one
 * recording per video, each with its own reference file where it has one.
 */
function planLayout(
  layout: DatasetLayout,
  payload: Payload<"ingest">,
  dataset: DatasetLocation,
): PlannedDataset {
  const keyOf = new Map(dataset.files.map((f) => [f.path, f.key]));
  let listing: ReturnType<DatasetLayout["list"]>;
  try {
    listing = layout.list(
      dataset.files.map((f) => f.path),
      (file) => dataset.texts[file] ?? "",
    );
  } catch (error) {
    throw new BadInputError(`${dataset.storageUrl}/${datasetPrefixOf(payload)}: ${(error as Error).message}`);
  }
  const videos: RunManifest["videos"] = [];
  const excluded: Exclusion[] = [];
  const taken = new Set<string>();
  for (const recording of listing.recordings) {
    const participant = idOf(recording.subject);
    let videoId = idOf(basename(recording.video));
    for (let n = 2; taken.has(`${participant}/${videoId}`); n++)
      videoId = `${idOf(basename(recording.video))}-${n}`;
    taken.add(`${participant}/${videoId}`);
    const videoKey = keyOf.get(recording.video);
    const exclude = (reason: string) =>
      excluded.push({
        stage: "ingest",
        participant,
        videoId,
        ...(videoKey ? { key: videoKey } : {}),
        path: recording.video,
        reason,
      });
    if (recording.excluded) {
      exclude(recording.excluded);
      continue;
    }
    if (recording.frames === "image-folder" || !videoKey) {
      exclude(
        `${recording.video}/ is a folder of image frames, which the pipeline does not decode yet; encode it as a lossless video (ffmpeg -i '${recording.video}/Image%*.png' -c:v ffv1 ${recording.video}.mkv) and list that instead.`,
      );
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
    videos.push({
      participant,
      videoId,
      videoKey,
      path: recording.video,
      ...(reference && referenceKey
        ? {
            reference: {
              layout: layout.name,
              ...reference,
              key: referenceKey,
              ...(recording.frameTimes && frameTimesKey
                ? { frameTimes: { ...recording.frameTimes, key: frameTimesKey } }
                : {}),
            },
          }
        : {}),
    });
  }
  const ignored = listing.ignored.map(({ file, reason }) => ({
    key: keyOf.get(file) ?? file,
    reason: `${file}: ${reason}.`,
  }));
  return { participants: [], videos, excluded, ignored };
}

/** A job the plan adds as a child of the run's ingest job. */
export type PlannedJob =
  | { stage: "ecg"; jobId: string; payload: PayloadInput<"ecg"> }
  | { stage: "decode"; jobId: string; payload: PayloadInput<"decode"> };

/**
 * The jobs that start a planned run: one ecg job per AMIGOS participant, one decode job per video
 * (which adds the ecg job of a video with its own reference, once it knows the video's clock).
 */
export function plannedJobs(manifest: RunManifest): PlannedJob[] {
  const { runId, options } = manifest;
  return [
    ...manifest.participants.map(
      ({ participant, matKey }): PlannedJob => ({
        stage: "ecg",
        jobId: jobIds.ecg(runId, participant),
        payload: { runId, participant, matKey, options: options.ecg },
      }),
    ),
    ...manifest.videos.map(
      (video): PlannedJob => ({
        stage: "decode",
        jobId: jobIds.decode(runId, video.participant, video.videoId),
        payload: {
          runId,
          participant: video.participant,
          videoId: video.videoId,
          videoKey: video.videoKey,
          options: options.decode,
          face: options.face,
          ...(video.reference ? { reference: video.reference, labels: options.ecg } : {}),
        },
      }),
    ),
  ];
}

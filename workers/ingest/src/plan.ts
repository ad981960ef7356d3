import {
  datasetPrefixOf,
  type Exclusion,
  jobIds,
  normaliseParticipant,
  type ObjectInfo,
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
  if (video) return { role: "video", participant: normaliseParticipant(video[1]!), videoId: video[2]! };
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

/** Where a run's dataset is: the storage's URL and the key prefix inside it. */
export interface DatasetLocation {
  storageUrl: string;
  /** Every object under the dataset's prefix. */
  objects: ObjectInfo[];
  createdAt: string;
}

/**
 * Plans a run from its dataset listing (a pure function: no Redis, storage or ffmpeg). The dataset is
 * an AMIGOS-layout tree (any sub-folders): `Data_Preprocessed_Pxx.mat` per participant and
 * `Pxx_<videoId>_face.mov` per video; P1 and P01 are the same person. Every listed file ends up in
 * the plan, in the exclusions (meant as data but unusable: a video without its .mat, a misnamed video,
 * a name storage keys cannot hold) or among the ignored files (not part of the layout), with a reason.
 */
export function planRun(payload: Payload<"ingest">, dataset: DatasetLocation): RunManifest {
  const prefix = datasetPrefixOf(payload);
  const objects = dataset.objects;
  const participants = new Map<string, string>();
  const videos: RunManifest["videos"] = [];
  const excluded: Exclusion[] = [];
  const ignored: RunManifest["ignored"] = [];
  for (const { key } of objects) {
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
      reason: `no Data_Preprocessed_${video.participant}.mat in ${dataset.storageUrl}/${prefix}, so ${video.videoKey} has no ECG labels.`,
    });
    return false;
  });
  return {
    version: 1,
    runId: payload.runId,
    createdAt: dataset.createdAt,
    state: "planned",
    storageUrl: dataset.storageUrl,
    datasetPrefix: prefix,
    options: runOptionsOf(payload),
    participants: [...participants].sort().map(([participant, matKey]) => ({ participant, matKey })),
    videos: labelled.sort((a, b) => a.videoKey.localeCompare(b.videoKey)),
    artifacts: [],
    splits: {},
    reused: { labels: 0, faceSegments: 0 },
    excluded,
    ignored,
    files: {
      listed: objects.length,
      planned: participants.size + labelled.length,
      excluded: excluded.filter((e) => e.key !== undefined).length,
      ignored: ignored.length,
    },
    notEvaluated: [],
  };
}

/** A job the plan adds as a child of the run's ingest job. */
export type PlannedJob =
  | { stage: "ecg"; jobId: string; payload: PayloadInput<"ecg"> }
  | { stage: "decode"; jobId: string; payload: PayloadInput<"decode"> };

/** The jobs that start a planned run: one ecg job per participant, one decode job per video. */
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
        },
      }),
    ),
  ];
}

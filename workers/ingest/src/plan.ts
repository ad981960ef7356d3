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
  safeId,
} from "@hrpipe/queue";

const matPattern = /(?:^|\/)Data_Preprocessed_(P\d{1,4})\.mat$/i;
const videoPattern = /(?:^|\/)(P\d{1,4})_([A-Za-z0-9]+)_face\.(mov|mp4|avi|mkv)$/i;

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
 * `Pxx_<videoId>_face.mov` per video; P1 and P01 are the same person. A video whose participant has
 * no .mat file cannot be labelled and is excluded.
 */
export function planRun(payload: Payload<"ingest">, dataset: DatasetLocation): RunManifest {
  const prefix = datasetPrefixOf(payload);
  const objects = dataset.objects;
  const participants = new Map<string, string>();
  const videos: RunManifest["videos"] = [];
  const excluded: Exclusion[] = [];
  for (const { key } of objects) {
    const mat = matPattern.exec(key);
    if (mat) {
      const participant = normaliseParticipant(mat[1]!);
      if (participants.has(participant)) {
        excluded.push({
          stage: "ingest",
          participant,
          key,
          reason: `${key} duplicates ${participants.get(participant)}; the first is used.`,
        });
      } else participants.set(participant, key);
      continue;
    }
    const video = videoPattern.exec(key);
    if (video)
      videos.push({
        participant: normaliseParticipant(video[1]!),
        videoId: safeId(video[2]!, "video id"),
        videoKey: key,
      });
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

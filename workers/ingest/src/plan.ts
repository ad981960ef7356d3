import {
  type Exclusion,
  normaliseParticipant,
  type Payload,
  type RunManifest,
  type Storage,
  safeId,
} from "@hrpipe/queue";

const matPattern = /(?:^|\/)Data_Preprocessed_(P\d{1,4})\.mat$/i;
const videoPattern = /(?:^|\/)(P\d{1,4})_([A-Za-z0-9]+)_face\.(mov|mp4|avi|mkv)$/i;

/**
 * Lists an AMIGOS-layout tree (any sub-folders): `Data_Preprocessed_Pxx.mat` per participant and
 * `Pxx_<videoId>_face.mov` per video; P1 and P01 are the same person. A video whose participant has
 * no .mat file cannot be labelled and is excluded.
 */
export async function planRun(storage: Storage, payload: Payload<"ingest">): Promise<RunManifest> {
  const prefix = payload.datasetPrefix.replace(/\/+$/, "");
  const objects = await storage.list(prefix === "" ? "" : `${prefix}/`);
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
      reason: `no Data_Preprocessed_${video.participant}.mat in ${storage.url}/${prefix}, so ${video.videoKey} has no ECG labels.`,
    });
    return false;
  });
  return {
    version: 1,
    runId: payload.runId,
    createdAt: new Date().toISOString(),
    state: "planned",
    storageUrl: storage.url,
    datasetPrefix: prefix,
    options: {
      protocols: payload.protocols,
      ecg: payload.ecg,
      decode: payload.decode,
      face: payload.face,
      train: payload.train,
    },
    participants: [...participants].sort().map(([participant, matKey]) => ({ participant, matKey })),
    videos: labelled.sort((a, b) => a.videoKey.localeCompare(b.videoKey)),
    artifacts: [],
    splits: {},
    reused: { labels: 0, faceSegments: 0 },
    excluded,
  };
}

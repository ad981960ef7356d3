import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { joinKey, seededUniform } from "@hrpipe/contracts";
import { writeMat } from "@hrpipe/matfile";
import type { Storage } from "@hrpipe/runtime";
import { amigosMatVariables, ecgSampleRateHz, ecgTrial } from "./ecg.ts";
import { type PortraitSpec, renderFaceVideo } from "./face-video.ts";
import { beatTimesS, cardiacPhase, heartTrajectory } from "./pulse.ts";

export interface SynthOptions {
  participants: number;
  videos: number;
  seconds: number;
  seed: number;
  width: number;
  height: number;
  fps: number;
  /** Key prefix inside the storage ('' for its root). */
  prefix?: string;
  onVideo?: (done: number, total: number) => void;
}

/** Faces of the face-api sample photos on which the detector holds steadily (largest first). */
export const synthPortraits: PortraitSpec[] = [
  { photo: 6, face: 0 },
  { photo: 3, face: 0 },
  { photo: 2, face: 0 },
  { photo: 4, face: 0 },
  { photo: 6, face: 1 },
  { photo: 2, face: 1 },
];

/** AMIGOS short-video ids, in the order the dataset uses them. */
export const amigosVideoIds = [
  "4",
  "5",
  "9",
  "10",
  "13",
  "18",
  "19",
  "20",
  "23",
  "30",
  "31",
  "34",
  "36",
  "58",
  "80",
  "138",
];

export interface SynthTruth {
  participant: string;
  portrait: PortraitSpec;
  videos: { videoId: string; meanBpm: number; hrBpm: number[]; beatTimesS: number[] }[];
}

/**
 * A synthetic AMIGOS-layout dataset with ground truth: per participant, face videos
 * (`faces/Pxx/Pxx_<videoId>_face.mov`, H.264) of a real face whose skin pulses with the heart, and
 * `ecg/Data_Preprocessed_Pxx.mat` whose ECG beats at the same times; `truth/Pxx.json` holds the rates.
 * Participants differ in face, heart-rate range and noise.
 */
export async function synthDataset(storage: Storage, options: SynthOptions): Promise<SynthTruth[]> {
  const prefix = options.prefix ?? "";
  const random = seededUniform(options.seed);
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-synth-"));
  const truths: SynthTruth[] = [];
  const total = options.participants * options.videos;
  let done = 0;
  try {
    for (let p = 1; p <= options.participants; p++) {
      const participant = `P${String(p).padStart(2, "0")}`;
      const portrait = synthPortraits[(p - 1) % synthPortraits.length]!;
      const baseBpm = 58 + 45 * random();
      const noiseLevel = 1 + 2 * random();
      const trials: { videoId: string; joined: ReturnType<typeof ecgTrial> }[] = [];
      const truth: SynthTruth = { participant, portrait, videos: [] };
      for (let v = 0; v < options.videos; v++) {
        const videoId = amigosVideoIds[v % amigosVideoIds.length]!;
        const meanBpm = baseBpm + 20 * (random() - 0.5);
        const heart = heartTrajectory({
          meanBpm,
          swingBpm: 3 + 5 * random(),
          swingPeriodS: 20 + 30 * random(),
          phase: 6.28 * random(),
        });
        const file = path.join(dir, `${participant}_${videoId}_face.mov`);
        const seed = Math.floor(random() * 1e6);
        const rendered = await renderFaceVideo({
          out: file,
          width: options.width,
          height: options.height,
          fps: options.fps,
          durationS: options.seconds,
          portrait,
          heart,
          pulseAmplitude: 0.004 + 0.004 * random(),
          motionPx: (options.height / 360) * (4 + 6 * random()),
          illuminationDrift: 0.02 * random(),
          noiseLevel,
          seed,
          crf: 18,
        });
        await storage.put(
          joinKey(...[prefix, "faces", participant, `${participant}_${videoId}_face.mov`]),
          await readFile(file),
        );
        await rm(file);
        const beats = beatTimesS(cardiacPhase(heart, options.seconds, ecgSampleRateHz), ecgSampleRateHz, 0);
        trials.push({ videoId, joined: ecgTrial({ beatTimesS: beats, durationS: options.seconds, seed }) });
        truth.videos.push({
          videoId,
          meanBpm,
          hrBpm: rendered.hrBpm.map((hr) => Math.round(hr * 1000) / 1000),
          beatTimesS: beats,
        });
        options.onVideo?.(++done, total);
      }
      await storage.put(
        joinKey(prefix, "ecg", `Data_Preprocessed_${participant}.mat`),
        writeMat(amigosMatVariables(trials)),
      );
      // Ground truth for people, beside the dataset; no stage reads it.
      await storage.put(joinKey(prefix, "truth", `${participant}.json`), JSON.stringify(truth, null, 2));
      truths.push(truth);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return truths;
}

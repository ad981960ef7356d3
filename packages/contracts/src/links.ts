/**
 * How stages lead to one another: for each stage, a pure function from a job's payload and output to
 * the jobs that follow it. The runtime adds what these return, so no stage binding adds a job of its
 * own and the stage graph (stages.ts) is the one table that links stages.
 */

import { jobIds } from "./job-ids.ts";
import { artifactKeys } from "./keys.ts";
import { hasReference, type RunManifest } from "./manifest.ts";
import { labelOptionsFor, type Payload, type PayloadInput, type StageName } from "./payloads.ts";
import type {
  DecodedVideo,
  EvalJobResult,
  FaceJobResult,
  FeaturesJobResult,
  IngestJobResult,
  LabelsJobResult,
  NeuralJobResult,
  ReportJobResult,
  TrainJobResult,
} from "./results.ts";

/** A job one stage leads to: its stage, payload and id (derived from what it is about, so a retried job adds nothing twice). */
export type LinkedJob = {
  [S in StageName]: { stage: S; payload: PayloadInput<S>; jobId: string };
}[StageName];

/** A job of a flow and the jobs it waits for. */
export type FlowNode = {
  [S in StageName]: {
    stage: S;
    payload: PayloadInput<S>;
    jobId: string;
    /** What this job's failure does to its parent (ignored at the root). */
    onFailure?: "fail" | "continue";
    children?: FlowNode[];
  };
}[StageName];

/** What one job leads to. */
export interface StageLinks {
  /**
   * Jobs the run waits for: children of the run's ingest job (of this job, when it is the ingest
   * job), whose failures the run reads rather than fails on.
   */
  gathered: LinkedJob[];
  /** A tree of jobs that starts now under no parent: a run's train -> eval chains under its report job. */
  flow?: FlowNode;
  /**
   * This job waits for the jobs it gathered, then runs again with this payload (ingest: plan, then
   * gather). Its output until then is not its result.
   */
  resumeWith?: Payload<StageName>;
}

/**
 * What a stage's processor hands the runtime: the job's result (its stage's result schema keeps what
 * is stored in Redis) plus what its links need and the result leaves out.
 */
export interface StageOutputs {
  /** The manifest as planned or gathered; absent when the run was cancelled. */
  ingest: IngestJobResult & { manifest?: RunManifest };
  labels: LabelsJobResult;
  decode: DecodedVideo;
  face: FaceJobResult;
  features: FeaturesJobResult;
  neural: NeuralJobResult;
  train: TrainJobResult;
  eval: EvalJobResult;
  report: ReportJobResult;
}

/** A stage's links: the stages whose jobs it may add, and the function that says which. */
export interface StageLink<S extends StageName> {
  adds: readonly StageName[];
  jobs(payload: Payload<S>, output: StageOutputs[S]): StageLinks;
}

/** The links of a stage whose jobs lead to none (their parent job follows them instead). */
export const leadsNowhere = { adds: [], jobs: () => ({ gathered: [] }) } satisfies StageLink<StageName>;

/**
 * The jobs that start a planned run: one labels job per AMIGOS participant, one decode job per video
 * (which leads to the labels job of a video with its own reference, once it knows the video's clock).
 */
export function plannedJobs(manifest: RunManifest): LinkedJob[] {
  const { runId, options } = manifest;
  return [
    ...manifest.participants.map(
      ({ participant, matKey }): LinkedJob => ({
        stage: "labels",
        jobId: jobIds.labels(runId, participant),
        payload: {
          runId,
          participant,
          matKey,
          options: labelOptionsFor(options.labels, options.ecgOffsetsS, participant),
        },
      }),
    ),
    ...manifest.videos.map(
      (video): LinkedJob => ({
        stage: "decode",
        jobId: jobIds.decode(runId, video.participant, video.videoId),
        payload: {
          runId,
          participant: video.participant,
          videoId: video.videoId,
          videoKey: video.videoKey,
          ...(video.imageSequence ? { imageSequence: true } : {}),
          ...(video.path && video.path !== video.videoKey ? { videoName: video.path } : {}),
          options: options.decode,
          face: { ...options.face, crops: options.cnn !== "none" || manifest.networks.length > 0 },
          // The CNN trains and tests on videos with a reference; an inference-only video needs no features.
          ...(options.cnn === "densenet" && hasReference(manifest, video)
            ? { features: options.features }
            : {}),
          ...(video.reference
            ? {
                reference: video.reference,
                labels: labelOptionsFor(options.labels, options.ecgOffsetsS, video.participant),
              }
            : {}),
        },
      }),
    ),
  ];
}

/** Whether a gathered run has network jobs to wait for before training: networks, and faces to run them on. */
export function measuresNetworks(manifest: RunManifest): boolean {
  return manifest.networks.length > 0 && manifest.artifacts.length > 0;
}

/** A gathered run's network jobs: every named network over every video that reached faces. */
export function neuralJobs(manifest: RunManifest): LinkedJob[] {
  const { runId } = manifest;
  return manifest.networks.flatMap((network) =>
    manifest.artifacts.map(
      (video): LinkedJob => ({
        stage: "neural",
        jobId: jobIds.neural(runId, video.participant, video.videoId, network.name),
        payload: {
          runId,
          participant: video.participant,
          videoId: video.videoId,
          facesKeys: video.segments.map((segment) => segment.facesKey),
          frameCount: video.frameCount,
          fps: video.fps,
          model: { name: network.name, hash: network.hash },
        },
      }),
    ),
  );
}

/**
 * A gathered run's training: per protocol that can be evaluated a train -> eval chain (eval alone
 * where the run has nothing to train: no CNN and no network), all under one report job, which waits
 * for every eval, failed or not, and gives the run its final state.
 */
export function trainingFlow(manifest: RunManifest): FlowNode {
  const { runId, options } = manifest;
  return {
    stage: "report",
    payload: { runId },
    jobId: jobIds.report(runId),
    children: options.protocols
      .filter((protocol) => !manifest.notEvaluated.some((n) => n.protocol === protocol))
      .map(
        (protocol): FlowNode => ({
          stage: "eval",
          payload: { runId, protocol, options: options.eval },
          jobId: jobIds.eval(runId, protocol),
          onFailure: "continue",
          children:
            options.cnn === "densenet" || manifest.networks.length > 0
              ? [
                  {
                    stage: "train",
                    payload: {
                      runId,
                      protocol,
                      options: options.train,
                      ...(protocol === "cross-dataset" ? { trainedOn: options.trainedOn } : {}),
                    },
                    jobId: jobIds.train(runId, protocol),
                    onFailure: "fail",
                  },
                ]
              : [],
        }),
      ),
  };
}

/** A segment's features job, once its faces are written (by this run's face job or an earlier run's). */
function featuresJob(
  video: { runId: string; participant: string; videoId: string },
  segment: number,
  facesKey: string,
  fps: number,
  options: NonNullable<Payload<"face">["features"]>,
): LinkedJob {
  return {
    stage: "features",
    jobId: jobIds.features(video.runId, video.participant, video.videoId, segment),
    payload: { ...video, segment, facesKey, fps, options },
  };
}

/**
 * Ingest plans (the run's first jobs, then it waits), gathers (then, where the run names networks,
 * their jobs and it waits again) and ends with the run's training flow.
 */
export const ingestLink: StageLink<"ingest"> = {
  adds: ["labels", "decode", "neural", "train", "eval", "report"],
  jobs(payload, output) {
    const manifest = output.manifest;
    if (!manifest) return { gathered: [] };
    if (payload.step === "plan")
      return { gathered: plannedJobs(manifest), resumeWith: { ...payload, step: "gather" } };
    if (payload.step === "gather" && measuresNetworks(manifest))
      return { gathered: neuralJobs(manifest), resumeWith: { ...payload, step: "networks" } };
    return { gathered: [], flow: trainingFlow(manifest) };
  },
};

/**
 * A decoded video leads to its labels job where it has its own reference (on the clock decode measured),
 * a face job per chunk, and a features job per segment whose faces an earlier run wrote (where the
 * CNN uses the video).
 */
export const decodeLink: StageLink<"decode"> = {
  adds: ["face", "labels", "features"],
  jobs(payload, result) {
    const { runId, participant, videoId } = payload;
    const video = { runId, participant, videoId };
    const gathered: LinkedJob[] = [];
    if (payload.reference)
      gathered.push({
        stage: "labels",
        jobId: jobIds.labels(runId, participant, videoId),
        payload: {
          ...video,
          reference: payload.reference,
          video: { fps: result.fps, frameCount: result.frameCount },
          options: payload.labels,
        },
      });
    for (const chunk of result.chunks)
      gathered.push({
        stage: "face",
        jobId: jobIds.face(runId, participant, videoId, chunk.segment),
        payload: {
          ...video,
          facesHash: result.facesHash,
          segment: chunk.segment,
          chunkKey: chunk.chunkKey,
          chunkSha256: chunk.chunkSha256,
          firstFrame: chunk.firstFrame,
          frameCount: chunk.frameCount,
          fps: result.fps,
          width: result.width,
          height: result.height,
          ...(result.yuv420 ? { yuv420: result.yuv420 } : {}),
          options: payload.face,
          ...(payload.features ? { features: payload.features } : {}),
        },
      });
    const features = payload.features;
    if (features)
      for (const segment of result.done) {
        const facesKey = artifactKeys.faces(result.facesHash, participant, videoId, segment);
        gathered.push(featuresJob(video, segment, facesKey, result.fps, features));
      }
    return { gathered };
  },
};

/** A segment's faces lead to its features job, where the CNN uses the video. */
export const faceLink: StageLink<"face"> = {
  adds: ["features"],
  jobs(payload, result) {
    if (!payload.features) return { gathered: [] };
    const { runId, participant, videoId, segment } = payload;
    const video = { runId, participant, videoId };
    return { gathered: [featuresJob(video, segment, result.facesKey, payload.fps, payload.features)] };
  },
};

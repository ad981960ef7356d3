import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import {
  addresses,
  artifactKeys,
  type DecodedVideo,
  type DecodeJobResult,
  type DecodeOptions,
  type FaceOptions,
  facelessSegmentSchema,
  imageSequenceSchema,
  type VideoReference,
} from "@hrpipe/contracts";
import { readReference, recordedFrameRateHz } from "@hrpipe/datasets";
import {
  copySegment,
  encodeImageSequence,
  MediaError,
  probeVideo,
  retimeVideo,
  scratchDir,
  type VideoInfo,
  yuv420Matrix,
} from "@hrpipe/media";
import {
  ArtifactNotFoundError,
  BadInputError,
  type Logger,
  readArtifact,
  type Storage,
} from "@hrpipe/runtime";
import { planSegments, type SegmentPlan } from "./plan.ts";

export interface DecodeJobInput {
  participant: string;
  videoId: string;
  videoKey: string;
  /** videoKey holds an image sequence (imageSequenceSchema): its frames are encoded losslessly first. */
  imageSequence?: boolean;
  /** The video's path in its dataset, which messages name (an uploaded file's key is its content hash). */
  videoName?: string;
  /** The video's own reference: where it records every frame's time, the frames are put on that clock. */
  reference?: VideoReference;
  options: DecodeOptions;
  face: FaceOptions;
}

export interface PlannedChunk extends SegmentPlan {
  chunkKey: string;
  chunkSha256: string;
  bytes: number;
}

export interface DecodeJobContext {
  storage: Storage;
  logger?: Logger;
}

/** Copies a stored file to `file`, feeding its bytes to `hash` on the way. */
async function fetchFile(storage: Storage, key: string, file: string, hash: Hash): Promise<string> {
  await pipeline(
    await storage.read(key),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  return file;
}

/**
 * Fetches an image sequence's frames one at a time and encodes them into a lossless video (frame k is
 * image k, at the sequence's rate), which is then cut like any video; the hash covers every frame's
 * bytes and the rate. The frames are deleted once encoded.
 */
async function fetchImageSequence(storage: Storage, key: string, dir: string, hash: Hash): Promise<string> {
  const sequence = await readArtifact(storage, key, imageSequenceSchema);
  hash.update(`${sequence.fps}\n`);
  const framesDir = path.join(dir, "images");
  await mkdir(framesDir);
  const files: string[] = [];
  for (const [k, frame] of sequence.frames.entries()) {
    if (!(await storage.exists(frame.key))) throw new ArtifactNotFoundError(storage.url, frame.key);
    files.push(
      await fetchFile(storage, frame.key, path.join(framesDir, `${k}${path.extname(frame.path)}`), hash),
    );
  }
  const video = path.join(dir, "source.mkv");
  try {
    await encodeImageSequence(files, sequence.fps, video);
  } catch (error) {
    if (error instanceof MediaError)
      throw new MediaError(error.message.replaceAll(framesDir, sequence.folder));
    throw error;
  }
  await rm(framesDir, { recursive: true });
  return video;
}

/**
 * The rate the video's frames really ran at, where its reference records their times (UBFC-rPPG's
 * ground truth, PURE's JSON, a manifest's frame-times table) and it is not the container's; else undefined.
 */
async function recordedRate(
  storage: Storage,
  reference: VideoReference | undefined,
  video: { fps: number; frameCount: number },
): Promise<number | undefined> {
  if (!reference) return undefined;
  const read = async (key: string) => {
    if (!(await storage.exists(key))) throw new ArtifactNotFoundError(storage.url, key);
    return storage.get(key);
  };
  const contents = {
    reference: await read(reference.key),
    ...(reference.frameTimes ? { frameTimes: await read(reference.frameTimes.key) } : {}),
  };
  try {
    const { frameTimeS } = readReference(reference, contents);
    return frameTimeS && recordedFrameRateHz(frameTimeS, video);
  } catch {
    // A reference that cannot be read fails the video's labels job, which names what is wrong with it.
    return undefined;
  }
}

/**
 * Chunks are the segment's coded frames copied without re-encoding (Matroska, source timestamps kept),
 * from the keyframe at or before the segment: decoding one gives bit-identical pixels to decoding the
 * source, and it costs about the source's own bytes. Its SHA-256 travels in the face job.
 */
export async function processDecodeJob(
  input: DecodeJobInput,
  context: DecodeJobContext,
): Promise<DecodedVideo> {
  const { storage, logger } = context;
  if (!(await storage.exists(input.videoKey))) throw new ArtifactNotFoundError(storage.url, input.videoKey);
  const name = input.videoName ?? input.videoKey;
  const dir = await scratchDir("decode");
  try {
    // The source is hashed as it arrives: its shards are addressed by what it holds, not by its name.
    const sourceHash = createHash("sha256");
    let source = path.join(dir, `source${path.extname(input.videoKey) || ".mov"}`);
    let info: VideoInfo;
    let frameRateHz: number | undefined;
    let containerFps: number | undefined;
    try {
      if (input.imageSequence) source = await fetchImageSequence(storage, input.videoKey, dir, sourceHash);
      else await fetchFile(storage, input.videoKey, source, sourceHash);
      info = await probeVideo(source);
      containerFps = info.fps;
      frameRateHz = await recordedRate(storage, input.reference, info);
      if (frameRateHz || Math.abs(info.originS) >= 0.5 / info.fps) {
        // Chunks are cut, and face jobs count frames, from container time 0, on the recording's clock.
        const retimed = path.join(dir, "source-retimed");
        await retimeVideo(source, retimed, {
          originS: info.originS,
          timeScale: frameRateHz ? info.fps / frameRateHz : 1,
        });
        await rm(source);
        source = retimed;
        info = await probeVideo(source, frameRateHz ? { fps: frameRateHz } : {});
      }
    } catch (error) {
      if (error instanceof MediaError) throw new BadInputError(error.message.replaceAll(source, name));
      throw error;
    }
    const facesHash = addresses.faces({
      sourceSha256: sourceHash.digest("hex"),
      frameRateHz,
      decode: input.options,
      face: input.face,
    });
    if (info.keyframeTimesS.length === 0)
      throw new BadInputError(`${name} has no keyframe to decode from (truncated or corrupt?).`);
    const plans = planSegments(info, input.options.segmentS);
    const chunks: PlannedChunk[] = [];
    const done: number[] = [];
    const faceless: DecodeJobResult["faceless"] = [];
    for (const plan of plans) {
      const facesKey = artifactKeys.faces(facesHash, input.participant, input.videoId, plan.segment);
      const tracesKey = artifactKeys.traces(facesHash, input.participant, input.videoId, plan.segment);
      if ((await storage.exists(facesKey)) && (await storage.exists(tracesKey))) {
        done.push(plan.segment);
        continue;
      }
      const facelessKey = artifactKeys.faceless(facesHash, input.participant, input.videoId, plan.segment);
      if (await storage.exists(facelessKey)) {
        const { reason } = await readArtifact(storage, facelessKey, facelessSegmentSchema);
        faceless.push({ segment: plan.segment, reason });
        continue;
      }
      const chunkFile = path.join(dir, `chunk-${plan.segment}.mkv`);
      try {
        await copySegment(source, chunkFile, plan.chunkStartS, plan.chunkDurationS);
      } catch (error) {
        if (error instanceof MediaError) throw new BadInputError(error.message.replaceAll(source, name));
        throw error;
      }
      const bytes = await readFile(chunkFile);
      const chunkSha256 = createHash("sha256").update(bytes).digest("hex");
      const chunkKey = artifactKeys.frames(
        facesHash,
        input.participant,
        input.videoId,
        plan.segment,
        chunkSha256,
      );
      await storage.put(chunkKey, bytes);
      await rm(chunkFile);
      chunks.push({ ...plan, chunkKey, chunkSha256, bytes: bytes.length });
    }
    const chunkBytes = chunks.reduce((sum, c) => sum + c.bytes, 0);
    const chunkSeconds = chunks.reduce((sum, c) => sum + c.frameCount / info.fps, 0);
    logger?.info(
      {
        video: name,
        segments: plans.length,
        chunks: chunks.length,
        done: done.length,
        ...(info.variableFrameRate ? { variableFrameRate: true, fps: info.fps } : {}),
        // Its heart rates differ from ones measured on the file's own clock by fps / retimedFromFps.
        ...(frameRateHz ? { fps: info.fps, retimedFromFps: containerFps } : {}),
      },
      "video segmented",
    );
    return {
      participant: input.participant,
      videoId: input.videoId,
      facesHash,
      fps: info.fps,
      frameCount: info.frameCount,
      width: info.width,
      height: info.height,
      yuv420: yuv420Matrix(info),
      segments: plans.map(({ segment, firstFrame, frameCount }) => ({ segment, firstFrame, frameCount })),
      chunkCount: chunks.length,
      chunks: chunks.map(({ segment, firstFrame, frameCount, chunkKey, chunkSha256, bytes }) => ({
        segment,
        firstFrame,
        frameCount,
        chunkKey,
        chunkSha256,
        bytes,
      })),
      done,
      faceless,
      chunkBytesPerVideoS: chunkSeconds > 0 ? chunkBytes / chunkSeconds : 0,
      reused: chunks.length === 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  artifactKeys,
  decodeFacesShard,
  decodePulseShard,
  encodeFacesShard,
  neuralModelNameSchema,
  neuralModelSchema,
} from "@hrpipe/contracts";
import { cropSequence } from "@hrpipe/face";
import { NetworkSession, NetworkSessions, networkOutputs } from "@hrpipe/model";
import { BadInputError, FileStorage, readArtifact } from "@hrpipe/runtime";
import { processNeuralJob } from "@hrpipe/worker-neural";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../cli/run-cli.ts";

const checkpoint = path.resolve(repoRoot, "../shared/models/rppg-toolbox/PURE_PhysNet_DiffNormalized.pth");
const side = 128;

/** One segment's faces shard: crops of the frames `withFace` names (a moving pattern, not a face). */
function facesShard(segment: number, withFace: number[]) {
  const images = new Uint8Array(withFace.length * side * side * 3);
  withFace.forEach((frame, row) => {
    for (let i = 0; i < side * side * 3; i++)
      images[row * side * side * 3 + i] = (i * 31 + frame * 7 + ((i >> 6) % 13) * frame) & 0xff;
  });
  return encodeFacesShard(
    {
      images,
      cropSize: side,
      frameIndex: Int32Array.from(withFace),
      timeS: Float32Array.from(withFace, (frame) => frame / 30),
      box: new Float32Array(withFace.length * 4),
    },
    { participant: "s1", videoId: "vid", segment, detector: "tiny", detectEvery: 1 },
  );
}

/**
 * The neural stage's processor on a network imported the way users import one: the video's faces
 * shards joined in frame order, the pulse and tail activations of every frame written under a content address
 * (and read back, not recomputed, by a second job), frames without a face flagged.
 */
describe("neural stage: an imported network over a video's faces", () => {
  let root: string;
  let storage: FileStorage;
  let sessions: NetworkSessions;
  let model: { name: string; hash: string };
  // 300 frames in two segments; frames 100-139 show no face.
  const frames = 300;
  const segments = [Array.from({ length: 100 }, (_, i) => i), Array.from({ length: 160 }, (_, i) => 140 + i)];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-neural-stage-"));
    const imported = await runCli(
      [
        "model",
        "import",
        checkpoint,
        "--arch",
        "physnet",
        "--name",
        "physnet-pure",
        "--storage",
        `file://${root}`,
      ],
      { LOG_LEVEL: "error" },
    );
    expect(imported.code, imported.stderr).toBe(0);
    storage = new FileStorage(root);
    const { hash } = await readArtifact(
      storage,
      artifactKeys.neuralModelName("physnet-pure"),
      neuralModelNameSchema,
    );
    model = { name: "physnet-pure", hash };
    sessions = new NetworkSessions((h) => storage.get(artifactKeys.neuralModel(h, "model.onnx")));
    for (const [segment, withFace] of segments.entries())
      await storage.put(`faces/fh/s1/vid/000${segment}.safetensors`, facesShard(segment, withFace));
  }, 60_000);

  afterAll(async () => {
    await sessions?.close();
    await rm(root, { recursive: true, force: true });
  });

  const job = (frameCount = frames) => ({
    participant: "s1",
    videoId: "vid",
    facesKeys: [0, 1].map((segment) => `faces/fh/s1/vid/000${segment}.safetensors`),
    frameCount,
    fps: 30,
    model,
  });

  it("writes the pulse and tail activations of every frame, as the network gives them on the crops", async () => {
    let sessionsMade = 0;
    const context = {
      storage,
      session: async (m: { hash: string }) => {
        sessionsMade++;
        return sessions.get(m.hash);
      },
    };
    const result = await processNeuralJob(job(), context);
    expect(result).toMatchObject({ model: "physnet-pure", frames, reused: false, executionProvider: "cpu" });
    expect(result.pulseKey).toMatch(/^pulses\/[0-9a-f]{16}\/s1\/vid\.safetensors$/);
    const shard = decodePulseShard(await storage.get(result.pulseKey), result.pulseKey);
    expect(shard.pulse).toHaveLength(frames);
    expect([shard.channels, shard.positions]).toEqual([64, 16]);
    expect(shard.activations).toHaveLength(frames * 64 * 16);
    expect(Array.from(shard.faceFound.subarray(95, 145))).toEqual(
      Array.from({ length: 50 }, (_, i) => (95 + i < 100 || 95 + i >= 140 ? 1 : 0)),
    );
    // The same numbers as the network on the joined crops directly (what `hrpipe rppg` computes).
    const info = await readArtifact(
      storage,
      artifactKeys.neuralModel(model.hash, "model.json"),
      neuralModelSchema,
    );
    const all = segments.flat();
    const images = new Uint8Array(all.length * side * side * 3);
    let offset = 0;
    for (const [segment, withFace] of segments.entries()) {
      const decoded = decodeFacesShard(facesShard(segment, withFace), "test");
      images.set(decoded.images, offset);
      offset += decoded.images.length;
    }
    const session = await NetworkSession.create(
      await storage.get(artifactKeys.neuralModel(model.hash, "model.onnx")),
    );
    // A cut where each shard starts (140 is also where the face comes back): its jump is not a pulse.
    const sequence = cropSequence(
      { images, frameIndex: Int32Array.from(all), side },
      frames,
      info.input.size,
      [140],
    );
    expect(sequence.cuts).toEqual([140]);
    const direct = await networkOutputs(session, sequence.frames, frames, info.input, {
      cuts: sequence.cuts,
    });
    await session.release();
    for (let frame = 0; frame < frames; frame++)
      expect(Math.abs(shard.pulse[frame]! - direct!.pulse[frame]!)).toBeLessThan(1e-5);

    // Content addressed: a second job over the same faces and weights reads it back.
    const again = await processNeuralJob(job(), context);
    expect(again).toMatchObject({ pulseKey: result.pulseKey, reused: true });
    expect(sessionsMade).toBe(1);
  }, 60_000);

  it("refuses a video shorter than one clip as bad input, naming the video and the clip", async () => {
    const short = { ...job(100), facesKeys: [job().facesKeys[0]!] };
    const error = await processNeuralJob(short, { storage, session: (m) => sessions.get(m.hash) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(
      /s1\/vid: 100 frames is shorter than one 128-frame clip of physnet-pure/,
    );
  });
});

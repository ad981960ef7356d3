import { describe, expect, it } from "vitest";
import { tuningTarget, tuningValidation } from "../src/processor.ts";

const video = (participant: string, videoId = "vid") => ({ participant, videoId });

describe("fine-tuning a network in the train stage", () => {
  it("holds out whole training subjects for early stopping, seeded, never a subject on both sides", () => {
    const videos = ["s1", "s2", "s3", "s4", "s5"].flatMap((s) => [video(s, "a"), video(s, "b")]);
    const split = tuningValidation(videos, { validationSplit: 0.2, seed: 1 });
    expect(split.validation).toHaveLength(2);
    const held = new Set(split.validation.map((v) => v.participant));
    expect(held.size).toBe(1);
    expect(split.train.some((v) => held.has(v.participant))).toBe(false);
    expect(split.train).toHaveLength(8);
    expect(tuningValidation(videos, { validationSplit: 0.2, seed: 1 })).toEqual(split);
    // One subject: its videos are split instead; one video: nothing to hold out.
    const one = tuningValidation([video("s1", "a"), video("s1", "b"), video("s1", "c")], {
      validationSplit: 0.2,
      seed: 1,
    });
    expect([one.train.length, one.validation.length]).toEqual([2, 1]);
    expect(tuningValidation([video("s1")], { validationSplit: 0.2, seed: 1 })).toEqual({
      train: [video("s1")],
      validation: [],
    });
  });

  it("targets a PPG reference's own waveform, and the beats of a reference without one", () => {
    const fps = 30;
    const frames = 300;
    // A PPG at 1.25 Hz, missing its first 10 frames.
    const values = Array.from({ length: frames }, (_, k) =>
      k < 10 ? null : Math.sin((2 * Math.PI * 1.25 * k) / fps),
    );
    const labels = { beatTimesS: [], waveform: { fps, values } };
    const target = tuningTarget(labels, frames, fps);
    expect(target.subarray(0, 10).every(Number.isNaN)).toBe(true);
    // DiffNormalized: the next frame's difference, so it leads the wave by a quarter period.
    const k = 100;
    const expected =
      Math.sin((2 * Math.PI * 1.25 * (k + 1)) / fps) - Math.sin((2 * Math.PI * 1.25 * k) / fps);
    expect(Math.sign(target[k]!)).toBe(Math.sign(expected));
    const beats = Array.from({ length: 12 }, (_, i) => i * 0.8);
    const fromBeats = tuningTarget({ beatTimesS: beats, waveform: null }, frames, fps);
    expect(fromBeats.subarray(0, Math.round(8.8 * fps) - 1).every(Number.isFinite)).toBe(true);
    expect(fromBeats.subarray(Math.round(8.8 * fps)).every(Number.isNaN)).toBe(true);
  });
});

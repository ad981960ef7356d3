import { describe, expect, it } from "vitest";
import { LiveHeartRate } from "../src/live.ts";

const fps = 30;

/** Skin colour pulsing at `bpm` (stronger in green, as blood absorbs it). */
const skinAt = (frame: number, bpm: number) => {
  const pulse = Math.sin(2 * Math.PI * (bpm / 60) * (frame / fps));
  return { r: 150 + 0.3 * pulse, g: 110 - 0.6 * pulse, b: 90 + 0.2 * pulse };
};

describe("a rolling heart rate over a stream of skin colours", () => {
  it("says nothing until a window is full, then follows the rate as it changes, each second", () => {
    const live = new LiveHeartRate({ method: "pos", fps, windowS: 10 });
    for (let f = 0; f < 10 * fps - 1; f++) live.push(skinAt(f, 72));
    expect(live.estimate()).toBeNull();
    live.push(skinAt(10 * fps - 1, 72));
    const first = live.estimate()!;
    expect(first.tS).toBe(10);
    expect(Math.abs(first.hrBpm! - 72)).toBeLessThan(2);
    expect(first.rmssdMs).toBeNull();
    // The rate steps to 96 bpm; 12 s later the newest window holds only the new rate.
    for (let f = 10 * fps; f < 22 * fps; f++) live.push(skinAt(f, 96));
    expect(Math.abs(live.estimate()!.hrBpm! - 96)).toBeLessThan(3);
  });

  it("keeps one minute of history however long the stream, and measures RMSSD over it", () => {
    const live = new LiveHeartRate({ method: "pos", fps, windowS: 10 });
    for (let f = 0; f < 5 * 60 * fps; f++) live.push(skinAt(f, 80));
    const estimate = live.estimate()!;
    expect(estimate.tS).toBe(300);
    expect(Math.abs(estimate.hrBpm! - 80)).toBeLessThan(2);
    // A steady synthetic pulse: beats 750 ms apart, almost no variability.
    expect(estimate.rmssdMs).not.toBeNull();
    expect(estimate.rmssdMs!).toBeLessThan(15);
    expect(live.frames).toBe(5 * 60 * fps);
  });

  it("gives no rate while the newest window has frames without a face", () => {
    const live = new LiveHeartRate({ method: "pos", fps, windowS: 10 });
    for (let f = 0; f < 15 * fps; f++) live.push(f > 12 * fps ? null : skinAt(f, 72));
    expect(live.estimate()!.hrBpm).toBeNull();
  });
});

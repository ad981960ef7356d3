import { describe, expect, it } from "vitest";
import { beatIntervals, hrvMetrics, matchBeats, pulseBeats } from "../src/hrv.ts";

const fsHz = 30;

/** Beat times with a mean interval of 0.8 s (75 bpm) that breathes ±60 ms every 4 beats, over `seconds`. */
function knownBeats(seconds: number): number[] {
  const beats = [0.5];
  for (let k = 1; beats.at(-1)! < seconds - 1; k++)
    beats.push(beats.at(-1)! + 0.8 + 0.06 * Math.sin((2 * Math.PI * k) / 4));
  return beats;
}

/** A pulse waveform: a systolic wave at each beat, optionally a dicrotic wave 0.3 s after it, sampled at 30 Hz. */
function pulseOf(beats: number[], seconds: number, options: { dicrotic?: number; extraS?: number[] } = {}) {
  const pulse = new Float64Array(Math.round(seconds * fsHz));
  const wave = (t: number, at: number, width: number, height: number) =>
    height * Math.exp(-0.5 * ((t - at) / width) ** 2);
  for (let i = 0; i < pulse.length; i++) {
    const t = i / fsHz;
    for (const beat of beats) {
      pulse[i]! += wave(t, beat, 0.08, 1);
      if (options.dicrotic) pulse[i]! += wave(t, beat + 0.3, 0.06, options.dicrotic);
    }
    for (const extra of options.extraS ?? []) pulse[i]! += wave(t, extra, 0.05, 0.6);
  }
  return pulse;
}

/** The true metrics of known beats, by the same definitions. */
function truth(beats: number[]) {
  const ibi = beats.slice(1).map((b, i) => (b - beats[i]!) * 1000);
  const diffs = ibi.slice(1).map((v, i) => v - ibi[i]!);
  const mean = ibi.reduce((s, v) => s + v, 0) / ibi.length;
  return {
    meanIbiMs: mean,
    sdnnMs: Math.sqrt(ibi.reduce((s, v) => s + (v - mean) ** 2, 0) / (ibi.length - 1)),
    rmssdMs: Math.sqrt(diffs.reduce((s, d) => s + d * d, 0) / diffs.length),
  };
}

const steady = () => 0.8;

describe("beats and HRV from a pulse, with the tracked rate as a prior", () => {
  const seconds = 120;
  const beats = knownBeats(seconds);

  it("finds every beat between samples, and HRV within a few ms of the truth at 30 Hz", () => {
    const detected = pulseBeats(pulseOf(beats, seconds), fsHz, steady);
    const match = matchBeats(detected, beats, 0.05);
    expect(match.sensitivity).toBe(1);
    expect(match.positivePredictivity).toBe(1);
    const metrics = hrvMetrics(beatIntervals(detected, steady));
    const known = truth(beats);
    expect(metrics.flaggedShare).toBe(0);
    expect(Math.abs(metrics.meanIbiMs! - known.meanIbiMs)).toBeLessThan(1);
    expect(Math.abs(metrics.sdnnMs! - known.sdnnMs)).toBeLessThan(3);
    expect(Math.abs(metrics.rmssdMs! - known.rmssdMs)).toBeLessThan(5);
    // ±60 ms breathing: successive differences up to 85 ms, some above 50.
    expect(metrics.pnn50).toBeGreaterThan(0.3);
  });

  it("does not count a dicrotic wave as a beat when the prior says the next beat is 0.8 s away", () => {
    const pulse = pulseOf(beats, seconds, { dicrotic: 0.5 });
    const guided = pulseBeats(pulse, fsHz, steady);
    expect(matchBeats(guided, beats, 0.05).positivePredictivity).toBe(1);
    expect(guided).toHaveLength(beats.length);
  });

  it("drops a noise spike between beats, and flags the interval a missing beat leaves without inventing one", () => {
    const missing = beats.filter((_, i) => i !== 40);
    const detected = pulseBeats(pulseOf(missing, seconds, { extraS: [beats[20]! + 0.4] }), fsHz, steady);
    expect(detected).toHaveLength(missing.length);
    const intervals = beatIntervals(detected, steady);
    const flagged = intervals.filter((i) => i.artefact);
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.ibiMs).toBeGreaterThan(1400);
    const metrics = hrvMetrics(intervals);
    expect(metrics.flaggedShare).toBeCloseTo(1 / intervals.length, 10);
    // The metrics come from the clean intervals: the 1.6-s gap does not move them.
    expect(Math.abs(metrics.meanIbiMs! - truth(beats).meanIbiMs)).toBeLessThan(2);
    expect(Math.abs(metrics.rmssdMs! - truth(beats).rmssdMs)).toBeLessThan(6);
  });

  it("measures a span of the recording, and says null where too few clean intervals remain", () => {
    const intervals = beatIntervals(pulseBeats(pulseOf(beats, seconds), fsHz, steady), steady);
    const firstMinute = hrvMetrics(intervals, 0, 60);
    expect(firstMinute.intervals).toBeGreaterThan(70);
    expect(firstMinute.intervals).toBeLessThan(76);
    expect(hrvMetrics(intervals, 0, 1.5)).toMatchObject({ meanIbiMs: null, rmssdMs: null, sdnnMs: null });
  });

  it("matches beats within the tolerance, each reference beat once", () => {
    expect(matchBeats([1.0, 1.05, 2.2, 3.0], [1.02, 2.0, 3.1])).toEqual({
      sensitivity: 2 / 3,
      positivePredictivity: 2 / 4,
      matched: 2,
      medianLagS: expect.closeTo(-0.06, 10),
    });
  });
});

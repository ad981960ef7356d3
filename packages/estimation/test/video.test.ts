import type { RunManifest, TrialLabels, VideoArtifacts } from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { hrvAgreement, rppgEstimates, videoMetrics, videoReport } from "../src/video.ts";

const fps = 30;
const seconds = 40;
const hrBpm = 72;

/** Skin colour with a pulse at hrBpm (stronger in green, as blood absorbs it) and slow lighting drift. */
function pulsingTraces(firstFrame: number, durationS = seconds) {
  const frames = fps * durationS;
  const rgb = new Float32Array(frames * 3);
  for (let i = 0; i < frames; i++) {
    const t = (firstFrame + i) / fps;
    const pulse = Math.sin(2 * Math.PI * (hrBpm / 60) * t);
    const drift = 3 * Math.sin(2 * Math.PI * 0.05 * t);
    rgb[i * 3] = 150 + drift + 0.3 * pulse;
    rgb[i * 3 + 1] = 110 + drift - 0.6 * pulse;
    rgb[i * 3 + 2] = 90 + drift + 0.2 * pulse;
  }
  return { rgb, faceFound: new Uint8Array(frames).fill(1), firstFrame };
}

const video: RunManifest["videos"][number] = {
  participant: "subject1",
  videoId: "vid",
  videoKey: "blobs/aa/aa",
  path: "subject1/vid.avi",
};
const artifacts: VideoArtifacts = {
  participant: "subject1",
  videoId: "vid",
  labelsKey: "labels/h/subject1/vid.json",
  fps,
  frameCount: fps * (seconds + 2),
  segments: [],
  pulses: {},
};
const labels = {
  fps: 25,
  hrBpm: Array.from({ length: 25 * (seconds + 2) }, () => 70),
  videoHrBpm: 70.5,
} as unknown as TrialLabels;
const options = { windowS: 10, strideS: 1 };

describe("videoReport: one video of the run report", () => {
  const report = videoReport(
    { video, artifacts, labels, traces: pulsingTraces(2 * fps) },
    [
      {
        protocol: "unseen-participants",
        windows: [
          { participant: "subject1", videoId: "vid", startS: 2, endS: 12, hrBpm: 80 },
          { participant: "subject1", videoId: "vid", startS: 3, endS: 13, hrBpm: 82 },
          { participant: "other", videoId: "vid", startS: 2, endS: 12, hrBpm: 60 },
        ],
      },
    ],
    options,
  );

  it("gives every rPPG method the pulse's rate, windows in video time, each with the reference at its centre", () => {
    expect(report.video).toBe("subject1/vid.avi");
    expect(report.durationS).toBe(seconds + 2);
    expect(report.referenceHrBpm).toBe(70.5);
    expect(report.methods.pos!.hrBpm).toBeCloseTo(hrBpm, 0);
    const first = report.methods.pos!.windows[0]!;
    // The traces start at frame 60: the first window starts 2 s into the video.
    expect(first.startS).toBeCloseTo(2, 6);
    expect(first.referenceHrBpm).toBe(70);
    expect(first.confidence).toBeGreaterThan(0.5);
    expect(Object.keys(report.methods).sort()).toEqual(
      ["chrom", "cnn", "green", "ica", "lgi", "omit", "pbv", "pos"].sort(),
    );
  });

  it("gives every rPPG method its beats' HRV, over the video and per 60 s in video time", () => {
    // A steady 72 bpm: a beat every 833 ms, whichever way up a method's pulse is.
    for (const method of ["pos", "chrom", "green"] as const) {
      const { whole } = report.methods[method]!.hrv!;
      expect(Math.abs(whole.meanIbiMs! - 60_000 / hrBpm), method).toBeLessThan(10);
      expect(whole.flaggedShare, method).toBe(0);
    }
    // 40 s of traces hold no 60-s span; 70 s from frame 60 hold one, starting 2 s into the video.
    expect(report.methods.pos!.hrv!.spans).toEqual([]);
    const long = rppgEstimates(pulsingTraces(2 * fps, 70), fps, undefined, options, ["pos"]);
    expect(long.pos!.hrv!.spans.map((span) => [span.startS, span.endS])).toEqual([[2, 62]]);
    expect(long.pos!.hrv!.spans[0]!.intervals).toBeGreaterThan(65);
  });

  it("takes the CNN's windows of this video only, from the protocol that tested it", () => {
    expect(report.methods.cnn).toMatchObject({ protocol: "unseen-participants", hrBpm: 81 });
    expect(report.methods.cnn!.windows.map((w) => w.hrBpm)).toEqual([80, 82]);
  });

  it("reports a video that reached no traces as excluded, with the reason it was given", () => {
    const excluded = videoReport({ video, excluded: "vid.avi: moov atom not found" }, [], options);
    expect(excluded).toMatchObject({
      excluded: "vid.avi: moov atom not found",
      durationS: null,
      methods: {},
    });
  });

  it("scores whole-video rates against references, skipping videos without one", () => {
    const metrics = videoMetrics([
      { referenceHrBpm: 70, methods: { pos: { hrBpm: 72, windows: [] } } },
      { referenceHrBpm: 90, methods: { pos: { hrBpm: 86, windows: [] } } },
      { referenceHrBpm: null, methods: { pos: { hrBpm: 50, windows: [] } } },
    ]);
    expect(metrics.pos).toMatchObject({ n: 2, mae: 3 });
    expect(metrics.cnn).toBeUndefined();
  });

  it("compares every estimator's beats and HRV with the reference's beats, where the reference has them", () => {
    // The reference's beats: the same 72 bpm, 100 ms after the skin's (the finger lags the face).
    const beatTimesS = Array.from({ length: 52 }, (_, k) => 2 + 0.1 + (k + 0.25) * (60 / hrBpm));
    const withBeats = { ...labels, beatTimesS } as TrialLabels;
    const measured = videoReport(
      { video, artifacts, labels: withBeats, traces: pulsingTraces(2 * fps) },
      [],
      options,
    );
    expect(measured.referenceHrv!.beats).toBe(52);
    expect(Math.abs(measured.referenceHrv!.whole.meanIbiMs! - 60_000 / hrBpm)).toBeLessThan(1);
    const pos = measured.methods.pos!.hrv!.reference!;
    // Every beat found and matched once the lag is out; a steady rate leaves no interval error.
    expect(pos.sensitivity).toBeGreaterThan(0.9);
    expect(pos.positivePredictivity).toBeGreaterThan(0.9);
    expect(pos.meanIbiErrorMs!).toBeLessThan(10);
    const summary = hrvAgreement([measured]);
    expect(summary.pos).toMatchObject({ videos: 1, sensitivity: pos.sensitivity });
    // Without beats in the labels (an HR trace), nothing is compared.
    expect(report.referenceHrv).toBeNull();
    expect(report.methods.pos!.hrv!.reference).toBeUndefined();
  });

  it("measures a network's pulse as the methods' and names the protocol that tuned it", () => {
    const pulse = Float64Array.from({ length: fps * seconds }, (_, i) =>
      Math.sin((2 * Math.PI * 1.5 * i) / fps),
    );
    const faceFound = new Uint8Array(pulse.length).fill(1);
    const withNetworks = videoReport(
      {
        video,
        artifacts,
        labels,
        traces: pulsingTraces(0),
        networks: {
          "physnet-pure": { pulse, faceFound },
          "physnet-pure-ft": { pulse, faceFound, protocol: "unseen-videos" },
        },
      },
      [],
      options,
    );
    expect(withNetworks.methods["physnet-pure"]!.hrBpm).toBeCloseTo(90, 0);
    expect(withNetworks.methods["physnet-pure"]!.protocol).toBeUndefined();
    expect(withNetworks.methods["physnet-pure-ft"]).toMatchObject({ protocol: "unseen-videos" });
    expect(withNetworks.methods["physnet-pure-ft"]!.windows).toEqual(
      withNetworks.methods["physnet-pure"]!.windows,
    );
  });
});

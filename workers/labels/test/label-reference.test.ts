import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { labelOptionsSchema, type VideoReference } from "@hrpipe/contracts";
import { readReference, recordedFrameRateHz } from "@hrpipe/datasets";
import { describe, expect, it } from "vitest";
import { labelReference, ReferenceInputError } from "../src/label-reference.ts";

const options = labelOptionsSchema.parse({});
const ubfcReference = (file: string): VideoReference => ({
  layout: "ubfc-rppg",
  key: "k",
  file,
  kind: "ppg",
});

/** UBFC's ground_truth.txt: a PPG line, an HR line and a time line, one sample per frame. */
function groundTruth(hrBpm: number, fsHz: number, seconds: number): string {
  const n = Math.round(fsHz * seconds);
  const time = Array.from({ length: n }, (_, i) => i / fsHz);
  const ppg = time.map(
    (t) => Math.sin(2 * Math.PI * (hrBpm / 60) * t) + 0.3 * Math.sin(4 * Math.PI * (hrBpm / 60) * t),
  );
  return [ppg, time.map(() => hrBpm), time]
    .map((line) => line.map((v) => v.toExponential(7)).join(" "))
    .join("\n");
}

describe("labelReference: a video's own reference as per-frame heart rates on its clock", () => {
  it("labels a UBFC PPG frame by frame, leaves the half-windows at the ends unlabelled and gives the video's rate", () => {
    const labels = labelReference(
      {
        participant: "subject1",
        videoId: "vid",
        reference: ubfcReference("subject1/ground_truth.txt"),
        video: { fps: 29.5, frameCount: 29.5 * 40 },
        options,
      },
      { reference: Buffer.from(groundTruth(75, 29.5, 40)) },
    );
    expect(labels).toMatchObject({ kind: "ppg", source: "subject1/ground_truth.txt", column: null, fps: 25 });
    expect(labels.frameCount).toBe(1000);
    expect(labels.hrBpm[0]).toBeNull();
    expect(labels.hrBpm[500]).toBeCloseTo(75, 0);
    expect(labels.videoHrBpm).toBeCloseTo(75, 0);
    expect(labels.quality.beats).toBeGreaterThan(45);
    expect(labels.quality.labelledShare).toBeGreaterThan(0.7);
  });

  it("shifts the reference by the run's offset, and refuses one that no longer covers the video, naming the file", () => {
    const input = {
      participant: "s",
      videoId: "v",
      reference: ubfcReference("s/ground_truth.txt"),
      video: { fps: 30, frameCount: 30 * 30 },
      options: { ...options, offsetS: 5 },
    };
    const shifted = labelReference(input, { reference: Buffer.from(groundTruth(60, 30, 30)) });
    // Covered from 5 s of video time on: the first labelled frame's window is 90% covered (9 s).
    expect(shifted.hrBpm.findIndex((hr) => hr !== null) / 25).toBeGreaterThanOrEqual(9);
    expect(shifted.hrBpm.findIndex((hr) => hr !== null) / 25).toBeLessThan(9.1);
    expect(() =>
      labelReference(
        { ...input, options: { ...options, offsetS: 100 } },
        { reference: Buffer.from(groundTruth(60, 30, 30)) },
      ),
    ).toThrow(ReferenceInputError);
    expect(() =>
      labelReference(
        { ...input, options: { ...options, offsetS: 100 } },
        { reference: Buffer.from(groundTruth(60, 30, 30)) },
      ),
    ).toThrow(/s\/ground_truth\.txt gives no 10-s window a heart rate.*check its offset/);
  });

  it("applies a manifest's own offset_s once", () => {
    const ppg = groundTruth(60, 30, 30).split("\n")[0]!.split(" ");
    const labels = labelReference(
      {
        participant: "s",
        videoId: "v",
        reference: {
          layout: "generic",
          key: "k",
          file: "ppg.csv",
          kind: "ppg",
          column: "ppg",
          fsHz: 30,
          offsetS: 5,
        },
        video: { fps: 30, frameCount: 30 * 30 },
        options,
      },
      { reference: Buffer.from(`ppg\n${ppg.join("\n")}\n`) },
    );
    // Covered from 5 s of video time on (not 10 s): the first labelled frame's window is 90% covered at 9 s.
    expect(labels.hrBpm.findIndex((hr) => hr !== null) / 25).toBeGreaterThanOrEqual(9);
    expect(labels.hrBpm.findIndex((hr) => hr !== null) / 25).toBeLessThan(9.1);
  });

  it("reads a generic manifest's RR intervals and HR trace", () => {
    const rr = Array.from({ length: 60 }, () => 800);
    const rrLabels = labelReference(
      {
        participant: "p",
        videoId: "v",
        reference: { layout: "generic", key: "k", file: "rr.csv", kind: "rr", column: "rr_ms" },
        video: { fps: 30, frameCount: 30 * 40 },
        options,
      },
      { reference: Buffer.from(`rr_ms\n${rr.join("\n")}\n`) },
    );
    expect(rrLabels.hrBpm[500]).toBeCloseTo(75, 5);
    const hrLabels = labelReference(
      {
        participant: "p",
        videoId: "v",
        reference: { layout: "generic", key: "k", file: "hr.csv", kind: "hr", column: "hr", fsHz: 1 },
        video: { fps: 30, frameCount: 30 * 40 },
        options,
      },
      { reference: Buffer.from(`hr\n${Array.from({ length: 45 }, () => 64).join("\n")}\n`) },
    );
    expect(hrLabels.hrBpm[500]).toBe(64);
    expect(hrLabels.beatTimesS).toEqual([]);
  });
});

const data = path.resolve(import.meta.dirname, "../../../../shared/data");
const ubfc = path.join(data, "ubfc-rppg-dev");
const toolkit = path.resolve(
  import.meta.dirname,
  "../../../../shared/fixtures/rppg-toolbox-reference/index.json",
);

describe.skipIf(!existsSync(ubfc))(
  "labelReference on UBFC-rPPG's development videos (../shared/data)",
  () => {
    // The videos' own frame rates (ffprobe avg_frame_rate), the clock decode measures them on.
    const fps: Record<string, number> = {
      subject3: 591 / 20,
      subject4: 2961 / 100,
      subject5: 1483 / 50,
      subject8: 2989 / 100,
      subject9: 1477 / 50,
      subject10: 747 / 25,
      subject11: 297 / 10,
    };
    const index = JSON.parse(readFileSync(toolkit, "utf8")) as {
      subjects: Record<string, { frames: number; referenceHrBpm: number }>;
    };

    it("gives each video rPPG-Toolbox's reference rate, on the clock its frame record gives", () => {
      for (const [subject, containerFps] of Object.entries(fps)) {
        const { frames, referenceHrBpm } = index.subjects[subject]!;
        const text = readFileSync(path.join(ubfc, subject, "ground_truth.txt"), "utf8");
        // The decode stage's clock: the camera's rate between dropped frames, by ground_truth.txt's times.
        const { frameTimeS } = readReference(
          { ...ubfcReference(`${subject}/ground_truth.txt`), layout: "ubfc-rppg" },
          { reference: Buffer.from(text) },
        );
        const rate = recordedFrameRateHz(frameTimeS!, { fps: containerFps, frameCount: frames })!;
        // Dropped frames only lower the average rate the container was written at.
        expect(rate, subject).toBeGreaterThan(containerFps);
        const labels = labelReference(
          {
            participant: subject,
            videoId: "vid",
            reference: ubfcReference(`${subject}/ground_truth.txt`),
            video: { fps: rate, frameCount: frames },
            options,
          },
          { reference: Buffer.from(text) },
        );
        // rPPG-Toolbox takes every UBFC file as 30 fps: on its clock ours is its spectral peak to within
        // one FFT bin (30 * 60 / 2048 bpm)...
        const binBpm = (30 * 60) / 2048;
        expect(Math.abs((labels.videoHrBpm! * 30) / rate - referenceHrBpm), subject).toBeLessThanOrEqual(
          binBpm + 0.01,
        );
        // ...and on the camera's own rate within 1.5 bpm of it (the limit).
        expect(Math.abs(labels.videoHrBpm! - referenceHrBpm), subject).toBeLessThanOrEqual(1.5);
        expect(labels.quality.labelledShare).toBeGreaterThan(0.7);
      }
    });
  },
);

const physrecorder = path.join(data, "physrecorder-v01");

describe.skipIf(!existsSync(physrecorder))("labelReference on PhysRecorder (../shared/data)", () => {
  it("puts the oximeter's unix-time samples on the video's clock through the frames' unix timestamps", () => {
    const read = (file: string) => readFileSync(path.join(physrecorder, file), "utf8");
    const labels = labelReference(
      {
        participant: "v01",
        videoId: "video_ZIP_H264",
        reference: {
          layout: "generic",
          key: "k",
          file: "BVP.csv",
          kind: "ppg",
          column: "bvp",
          timeColumn: "timestamp",
          frameTimes: { key: "f", file: "frames_timestamp.csv", column: "timestamp" },
        },
        // ffprobe: 602 frames at 30 fps.
        video: { fps: 30, frameCount: 602 },
        options,
      },
      { reference: Buffer.from(read("BVP.csv")), frameTimes: Buffer.from(read("frames_timestamp.csv")) },
    );
    // Unix time (1.69e9 s) became video time: beats lie within the video's 20 s, labels cover it.
    expect(Math.min(...labels.beatTimesS)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...labels.beatTimesS)).toBeLessThan(602 / 30 + 1);
    expect(labels.quality.beats).toBeGreaterThan(15);
    expect(labels.quality.labelledShare).toBeGreaterThan(0.5);
    expect(labels.videoHrBpm).toBeGreaterThan(50);
    expect(labels.videoHrBpm).toBeLessThan(110);
    // The oximeter's own beat rate and its spectral rate agree on this clean recording.
    expect(Math.abs(labels.quality.meanHrBpm! - labels.videoHrBpm!)).toBeLessThan(3);
  });
});

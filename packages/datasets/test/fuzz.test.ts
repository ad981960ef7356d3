import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { clearErrorNaming, fuzz, type Mutation, mutations } from "../../../tests/harness/fuzz.ts";
import {
  generic,
  parseFrameTimes,
  parseParticipantOffsets,
  parseRgbTrace,
  parseTable,
  pure,
  type ReferenceSignal,
  ubfcRppg,
} from "../src/index.ts";

/** A reference file's text as the bytes parseReference reads. */
const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * Every parser of a user's reference and trace files, fed seeded mutations of real files from
 * ../shared/data: each ends in a result that holds only finite numbers, or in an Error naming the
 * file, within 250 ms and without holding on to memory.
 */
const data = path.resolve(import.meta.dirname, "../../../../shared/data");
const read = (file: string) => readFileSync(path.join(data, file));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const maxMs = 250;

function finiteSignal(signal: ReferenceSignal): void {
  if (signal.timeS.length !== signal.values.length) throw new Error("times and values differ in length");
  for (const series of [signal.timeS, signal.values, signal.frameTimeS ?? []])
    if (!Array.from(series).every(Number.isFinite)) throw new Error("a parsed number is not finite");
}

function fuzzText<T>(
  file: string,
  original: Uint8Array,
  count: number,
  parse: (text: string) => T,
  check?: (value: T) => void,
) {
  const outcome = fuzz(mutations(original, count, file.length), (bytes) => parse(text(bytes)), {
    clear: clearErrorNaming(file),
    check,
    maxMs,
  });
  expect(outcome.parsed + outcome.refused).toBe(count);
  expect(outcome.heapGrowthBytes).toBeLessThan(128 * 2 ** 20);
  return outcome;
}

describe("reference and trace parsers fuzzed from real files", () => {
  it("UBFC-rPPG ground_truth.txt", () => {
    const file = "subject3/ground_truth.txt";
    fuzzText(
      file,
      read(`ubfc-rppg-dev/${file}`),
      300,
      (t) => ubfcRppg.parseReference!({ file, kind: "ppg" }, bytes(t)),
      finiteSignal,
    );
  });

  it("PhysRecorder's BVP.csv (generic table with a time column) and frames_timestamp.csv", () => {
    fuzzText(
      "BVP.csv",
      read("physrecorder-v01/BVP.csv"),
      300,
      (t) => parseTable({ file: "BVP.csv", kind: "ppg", column: "bvp", timeColumn: "timestamp" }, t),
      finiteSignal,
    );
    fuzzText(
      "frames_timestamp.csv",
      read("physrecorder-v01/frames_timestamp.csv"),
      300,
      (t) => parseFrameTimes({ file: "frames_timestamp.csv", column: "timestamp" }, t),
      (times) => expect(Array.from(times).every(Number.isFinite)).toBe(true),
    );
  });

  it("Welltory's RR.txt (bare intervals) and PPG.csv (an RGB trace)", () => {
    fuzzText(
      "RR.txt",
      read("welltory-ppg/data/subject_01/RR.txt"),
      300,
      (t) => parseTable({ file: "RR.txt", kind: "rr" }, t),
      finiteSignal,
    );
    fuzzText(
      "PPG.csv",
      read("welltory-ppg/data/subject_01/PPG.csv"),
      200,
      (t) => parseRgbTrace("PPG.csv", t, { timeUnit: "ms" }),
      (trace) => expect(trace.rgb.every(Number.isFinite) && trace.fsHz > 0).toBe(true),
    );
  });

  it("a PURE recording's JSON (made from the UBFC recording, as the e2e run makes it)", () => {
    const truth = text(read("ubfc-rppg-dev/subject3/ground_truth.txt")).trim().split(/\r?\n/);
    const ppg = truth[0]!.trim().split(/\s+/).slice(0, 300).map(Number);
    const timeS = truth[2]!.trim().split(/\s+/).slice(0, 300).map(Number);
    const json = JSON.stringify({
      "/FullPackage": ppg.map((waveform, i) => ({
        Timestamp: Math.round(timeS[i]! * 1e9),
        Value: { waveform, pulseRate: 70, o2saturation: 98, signalStrength: 5 },
      })),
      "/Image": timeS.map((t) => ({ Timestamp: Math.round(t * 1e9) })),
    });
    fuzzText(
      "01-01.json",
      new TextEncoder().encode(json),
      400,
      (t) => pure.parseReference!({ file: "01-01.json", kind: "ppg" }, bytes(t)),
      finiteSignal,
    );
  });

  it("--ecg-offsets tables and a generic manifest.csv", () => {
    fuzzText(
      "offsets.csv",
      new TextEncoder().encode("participant,offset_s\nP01,0.5\nP02,-1.25\nP3,12\n"),
      300,
      (t) => parseParticipantOffsets("offsets.csv", t),
      (offsets) => expect(Object.values(offsets).every(Number.isFinite)).toBe(true),
    );
    const manifest =
      "video,subject,reference,kind,column,fs_hz,time_column,offset_s\n" +
      "a.mp4,alice,a-ecg.csv,ecg,lead2,250,,0.5\nb.mp4,bob,b-rr.txt,rr,,,,\nc.mp4,carol,,,,,,\n";
    const files = [
      "study/manifest.csv",
      "study/a.mp4",
      "study/a-ecg.csv",
      "study/b.mp4",
      "study/b-rr.txt",
      "study/c.mp4",
    ];
    fuzzText("manifest.csv", new TextEncoder().encode(manifest), 400, (t) =>
      generic.list(files, (file) => (file.endsWith("manifest.csv") ? t : "")),
    );
  });

  it("PURE image sequences: frame names mutated in the listing", () => {
    const names = Array.from({ length: 40 }, (_, k) => `01-01/Image${1_000_000_000 + k * 33_333_333}.png`);
    const listing = new TextEncoder().encode([...names, "01-01.json"].join("\n"));
    const inputs = function* (): Generator<Mutation> {
      yield* mutations(listing, 300, 7);
    };
    const outcome = fuzz(inputs(), (bytes) => pure.list(text(bytes).split("\n"), () => ""), {
      clear: clearErrorNaming("01-01"),
      check: (result) => {
        for (const recording of result.recordings)
          if (
            recording.frames !== "video" &&
            !(recording.frames.fps > 0 && Number.isFinite(recording.frames.fps))
          )
            throw new Error(`${recording.video}: frame rate ${recording.frames.fps}`);
      },
      maxMs,
    });
    expect(outcome.parsed).toBeGreaterThan(0);
  });
});

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  frameClock,
  naturalOrder,
  numbers,
  ReferenceRate,
  type ReferenceSignal,
  ubfcRppg,
} from "@hrpipe/datasets";
import { mean, median, steadyRateHz } from "@hrpipe/signal";
import { type BenchResult, type BenchRow, machineDescription } from "./report.ts";

/** A reference file's text as the bytes parseReference reads. */
const bytes = (text: string) => new TextEncoder().encode(text);

const ubfcDir = path.resolve(import.meta.dirname, "../../shared/data/ubfc-rppg-dev");
const toolkitIndex = path.resolve(
  import.meta.dirname,
  "../../shared/fixtures/rppg-toolbox-reference/index.json",
);

/** rPPG-Toolbox's frame rate for every UBFC-rPPG file. */
const toolkitFpsHz = 30;

interface Clock {
  name: string;
  /** The rate sample k (frame k) is put at k / rate by, from the frames' recorded times. */
  rateHz: (frameTimeS: Float64Array) => number;
}

const clocks: Clock[] = [
  { name: "the camera's rate between dropped frames (hrpipe's)", rateHz: steadyRateHz },
  {
    name: "the average rate over the recording",
    rateHz: (frameTimeS) => (frameTimeS.length - 1) / (frameTimeS.at(-1)! - frameTimeS[0]!),
  },
  { name: `${toolkitFpsHz} fps (rPPG-Toolbox's)`, rateHz: () => toolkitFpsHz },
];

interface ClockFigures {
  /** Per 10-s window: the oximeter's own HR trace minus the PPG's beat rate, bpm. */
  oximeterMinusPpgBpm: number[];
  /** Per video: hrpipe's whole-video reference minus rPPG-Toolbox's (index.json), bpm. */
  minusToolkitBpm: number[];
}

/**
 * Which clock UBFC-rPPG's ground truth runs on. Its PPG has one sample per frame and line 3 gives each
 * frame's arrival time: 29.5-29.9 Hz on average, but the camera dropped frames (gaps up to 0.75 s) and
 * between them ran at 29.7-30.1 Hz; rPPG-Toolbox takes every file as 30 Hz. The pulse oximeter's own
 * HR trace (line 2) is computed by the device on its own clock, so it tells which clock gives the
 * waveform's beats their true rate.
 */
export async function benchUbfcClock(): Promise<BenchResult> {
  if (!existsSync(ubfcDir))
    throw new Error(`${ubfcDir} is missing; this benchmark reads ../shared/data beside the checkout.`);
  const toolkit = JSON.parse(readFileSync(toolkitIndex, "utf8")) as {
    subjects: Record<string, { referenceHrBpm: number }>;
  };
  const subjects = readdirSync(ubfcDir)
    .filter((name) => existsSync(path.join(ubfcDir, name, "ground_truth.txt")))
    .sort(naturalOrder);
  const figures = clocks.map((): ClockFigures => ({ oximeterMinusPpgBpm: [], minusToolkitBpm: [] }));
  let lowQualityWindows = 0;
  for (const subject of subjects) {
    const file = `${subject}/ground_truth.txt`;
    const text = readFileSync(path.join(ubfcDir, file), "utf8");
    const ppg = ubfcRppg.parseReference!({ file, kind: "ppg" }, bytes(text));
    const frameTimeS = ppg.frameTimeS!;
    const oximeter: ReferenceSignal = {
      kind: "hr",
      timeS: ppg.timeS,
      values: numbers(text.trim().split(/\r?\n/)[1]!, /\s+/, `${file} line 2`),
    };
    for (const [c, clock] of clocks.entries()) {
      const rateHz = clock.rateHz(frameTimeS);
      const toClockS = frameClock(frameTimeS, rateHz);
      const ppgRate = new ReferenceRate(ppg, toClockS);
      const oximeterRate = new ReferenceRate(oximeter, toClockS);
      const { endS } = ppgRate.coveredS;
      for (let startS = 0; startS + 10 <= endS; startS += 5) {
        const beats = ppgRate.window(startS, startS + 10);
        const device = oximeterRate.window(startS, startS + 10);
        if (!beats || !device) continue;
        if (beats.lowQuality) {
          if (c === 0) lowQualityWindows++;
          continue;
        }
        figures[c]!.oximeterMinusPpgBpm.push(device.hrBpm - beats.hrBpm);
      }
      const whole = ppgRate.whole(frameTimeS.length / rateHz);
      const theirs = toolkit.subjects[subject]?.referenceHrBpm;
      if (whole !== null && theirs !== undefined) figures[c]!.minusToolkitBpm.push(whole - theirs);
    }
  }
  const maxAbs = (values: number[]) => Math.max(...values.map(Math.abs));
  const [steady, ...others] = figures as [ClockFigures, ...ClockFigures[]];
  const comparedTo = (figure: (clock: ClockFigures) => number) =>
    others.map((other, c) => ({ what: `on ${clocks[c + 1]!.name}`, value: figure(other) }));
  const rows: BenchRow[] = [
    ...comparedTo((clock) => median(clock.oximeterMinusPpgBpm)).map((reference) => ({
      metric: `oximeter HR minus PPG beat rate, median over ${steady.oximeterMinusPpgBpm.length} 10-s windows of ${subjects.length} videos, on ${clocks[0]!.name}`,
      value: median(steady.oximeterMinusPpgBpm),
      unit: "bpm",
      reference,
    })),
    {
      metric: "PPG windows left out as low quality",
      value: lowQualityWindows,
      unit: "windows",
    },
    ...comparedTo((clock) => maxAbs(clock.minusToolkitBpm)).map((reference) => ({
      metric: `per-video reference minus rPPG-Toolbox's (index.json), largest absolute, on ${clocks[0]!.name}`,
      value: maxAbs(steady.minusToolkitBpm),
      unit: "bpm",
      reference,
      target: "<= 1.5 bpm (issue 13)",
      met: maxAbs(steady.minusToolkitBpm) <= 1.5,
    })),
    ...comparedTo((clock) => mean(clock.minusToolkitBpm)).map((reference) => ({
      metric: `per-video reference minus rPPG-Toolbox's, mean, on ${clocks[0]!.name}`,
      value: mean(steady.minusToolkitBpm),
      unit: "bpm",
      reference,
    })),
  ];
  return {
    name: "ubfc-clock",
    title:
      "UBFC-rPPG's clock: the camera's rate between dropped frames, the average rate and rPPG-Toolbox's 30 fps",
    method:
      "`pnpm bench ubfc-clock`. The 7 ground_truth.txt files of ../shared/data/ubfc-rppg-dev: line 1 the PPG (one sample per frame), line 2 " +
      "the pulse oximeter's own HR trace, line 3 each frame's arrival time (1-ms steps, +/-5 ms jitter, gaps where frames were dropped). " +
      "Sample k is put at k / rate for three rates: the camera's between dropped frames (the mean of the intervals shorter than 1.8x the median; " +
      "what hrpipe's decode stage re-times such videos to), the average over the recording (frames / span: what a container written at " +
      "the average rate gives, and hrpipe used before), and 30 fps (rPPG-Toolbox's assumption). Per 10-s window every 5 s, the PPG's rate " +
      "from Elgendi's systolic peaks (hrpipe's PPG reference; windows it flags low quality left out) against the mean of the oximeter's HR " +
      "trace over the same samples, as a median over all windows (the trace drops to near 0 in places): the oximeter counts beats on its " +
      "own clock, so the clock on which the two agree is the recording's. Per video, hrpipe's reference (the waveform's spectral peak " +
      "computed as rPPG-Toolbox computes it) on each clock against index.json's, written by rPPG-Toolbox on these files.",
    rows,
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}

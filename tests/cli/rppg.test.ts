import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeSafetensors, getTensor } from "@hrpipe/contracts";
import { VideoEncoder } from "@hrpipe/media";
import { agreement, butterworthBandpass, detrendSmoothnessPriors, sosFiltFilt } from "@hrpipe/signal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, repoRoot, runCli } from "./run-cli.ts";

describe("hrpipe rppg on a video in which no frame shows a face", () => {
  let dir: string;
  let video: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-rppg-cli-"));
    video = path.join(dir, "noface.mp4");
    const encoder = new VideoEncoder(video, { width: 160, height: 120, fps: 25 });
    const frame = new Uint8Array(160 * 120 * 3);
    for (let k = 0; k < 75; k++) {
      for (let p = 0; p < frame.length; p++) frame[p] = (p * 7 + k * 13) % 256;
      await encoder.write(frame);
    }
    await encoder.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("says that no frame had a face instead of printing a mean of 0 bpm, and exits 1", async () => {
    const result = await runCli(["rppg", video, "--out", path.join(dir, "hr.json"), "--window", "2"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no heart rate: no frame of the video showed a face\./);
    expect(result.stdout).not.toMatch(/bpm/);
  }, 60_000);
});

/** A skin colour pulsing at hrBpm (0.5% on green, de Haan's proportions on R and B), with a slow light drift of `drift`. */
function pulsingSkin(timeS: number, hrBpm: number, drift = 0): [number, number, number] {
  const pulse = 0.005 * Math.sin(2 * Math.PI * (hrBpm / 60) * timeS);
  const light = 1 + drift * Math.sin(2 * Math.PI * 0.05 * timeS);
  return [180 * light * (1 + 0.43 * pulse), 120 * light * (1 + pulse), 95 * light * (1 + 0.69 * pulse)];
}

/** A 64x48 30-fps video whose every pixel is the pulsing skin colour (3% light drift), nearly lossless. */
async function writeSkinPatchVideo(file: string, hrBpm: number, seconds: number): Promise<void> {
  const fps = 30;
  const encoder = new VideoEncoder(file, { width: 64, height: 48, fps, crf: 10 });
  const frame = new Uint8Array(64 * 48 * 3);
  for (let k = 0; k < seconds * fps; k++) {
    const [r, g, b] = pulsingSkin(k / fps, hrBpm, 0.03);
    for (let p = 0; p < frame.length; p += 3) frame.set([r, g, b], p);
    await encoder.write(frame);
  }
  await encoder.close();
}

/** `hrpipe rppg <dir>` with POS on the whole frame, as the folder tests run it: its result and report.json. */
async function rppgFolderPos<Report>(
  dir: string,
  args: string[] = [],
): Promise<{ result: CliResult; report: Report }> {
  const out = path.join(dir, "report.json");
  const result = await runCli([
    ...["rppg", dir, "--skin-area", "whole-frame", "--method", "pos", "--out", out],
    ...args,
  ]);
  expect(result.code, result.stderr).toBe(0);
  return { result, report: JSON.parse(await readFile(out, "utf8")) as Report };
}

/** A report.json video as the one-method folder tests read it. */
interface PosVideo {
  durationS: number;
  referenceHrBpm: number;
  methods: { pos: { hrBpm: number } };
}

interface RppgOutput {
  fps: number;
  durationS: number;
  methods: Record<
    string,
    {
      hrBpm: number | null;
      windows: { startS: number; hrBpm: number | null; confidence: number | null; lowQuality: boolean }[];
      signal?: number[];
      hrv?: {
        whole: {
          meanIbiMs: number | null;
          rmssdMs: number | null;
          intervals: number;
          flaggedShare: number | null;
        };
        spans: unknown[];
      };
    }
  >;
}

describe("hrpipe rppg on traces and skin patches", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-rppg-traces-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  // Without light drift: PBV assumes the colour's variation is the pulse's (its signature is estimated from the trace).
  it("--rgb reads a CSV of time in ms, R, G, B with jittered sample times (the Welltory format) and finds the rate and the beats with every method", async () => {
    const rows = ["time,R,G,B"];
    for (let i = 0, t = 0; t < 30; i++, t += (1 / 30) * (i % 4 === 0 ? 1.4 : 0.87)) {
      rows.push([Math.round(t * 1000), ...pulsingSkin(t, 84).map((v) => v.toFixed(3))].join(","));
    }
    const csv = path.join(dir, "trace.csv");
    await writeFile(csv, `${rows.join("\n")}\n`);
    const out = path.join(dir, "trace.json");
    const result = await runCli(["rppg", csv, "--rgb", "--out", out, "--signal", "--hrv"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const output = JSON.parse(await readFile(out, "utf8")) as RppgOutput;
    expect(Object.keys(output.methods)).toEqual(["pos", "chrom", "omit", "lgi", "pbv", "ica", "green"]);
    expect(output.durationS).toBeGreaterThan(29);
    for (const [method, estimate] of Object.entries(output.methods)) {
      expect(Math.abs(estimate.hrBpm! - 84), method).toBeLessThan(2);
      expect(estimate.windows.length).toBeGreaterThan(15);
      expect(estimate.signal?.length).toBe(Math.round(output.durationS * output.fps));
      for (const window of estimate.windows) expect(window.confidence).toBeGreaterThan(0);
      // 84 bpm: a beat every 714 ms, about 40 intervals in 30 s, none flagged on a steady pulse.
      expect(Math.abs(estimate.hrv!.whole.meanIbiMs! - 60_000 / 84), method).toBeLessThan(15);
      expect(estimate.hrv!.whole.intervals, method).toBeGreaterThan(35);
      expect(estimate.hrv!.whole.flaggedShare, method).toBeLessThan(0.1);
      // A 30-s trace holds no whole 60-s span.
      expect(estimate.hrv!.spans).toEqual([]);
    }
    expect(result.stdout).toMatch(
      /^pos +84\.\d bpm .* mean IBI 71\d ms, SDNN \d+ ms, RMSSD \d+ ms, pNN50 \d+% \(\d+ intervals, \d+% flagged\)$/m,
    );
  }, 60_000);

  it("--rgb with a frame column needs --fps, and names a bad line", async () => {
    const csv = path.join(dir, "frames.csv");
    await writeFile(csv, "frame,R,G,B\n0,1,2,3\n1,1,2,x\n");
    const noFps = await runCli(["rppg", csv, "--rgb", "--out", path.join(dir, "f.json")]);
    expect(noFps.code).toBe(2);
    expect(noFps.stderr).toMatch(/counts samples by frame; pass their rate with --fps/);
    const badLine = await runCli(["rppg", csv, "--rgb", "--fps", "30", "--out", path.join(dir, "f.json")]);
    expect(badLine.stderr).toMatch(/frames\.csv line 3: time, R, G and B must be numbers/);
  }, 60_000);

  it("--rgb --fps 30 with a frame column: CHROM's pulse equals rPPG-Toolbox's on the same trace (r >= 0.99)", async () => {
    const fixture = decodeSafetensors(
      await readFile(path.join(repoRoot, "../shared/fixtures/rppg-toolbox-reference/subject3.safetensors")),
    );
    const rgb = getTensor(fixture, "rgb", "F64", 2).data;
    const theirs = getTensor(fixture, "bvp_chrom", "F64", 1).data;
    const rows = ["frame,R,G,B"];
    for (let k = 0; k < rgb.length / 3; k++)
      rows.push([k, rgb[3 * k], rgb[3 * k + 1], rgb[3 * k + 2]].join(","));
    const csv = path.join(dir, "subject3.csv");
    await writeFile(csv, `${rows.join("\n")}\n`);
    const out = path.join(dir, "subject3.json");
    const result = await runCli([
      "rppg",
      csv,
      "--rgb",
      "--fps",
      "30",
      "--method",
      "chrom",
      "--signal",
      "--out",
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(await readFile(out, "utf8")) as RppgOutput;
    expect(output.fps).toBe(30);
    const ours = Float64Array.from(output.methods.chrom!.signal!).subarray(0, theirs.length);
    // One band-pass for both sides, as the in-process parity test compares them.
    const compared = (pulse: Float64Array) =>
      sosFiltFilt(butterworthBandpass(3, 0.75, 2.5, 30), detrendSmoothnessPriors(pulse, 100));
    expect(agreement(compared(ours), compared(theirs)).pearsonR).toBeGreaterThanOrEqual(0.99);
  }, 60_000);

  it("--rgb with times in seconds under the default --time-unit ms is refused with a hint, not read as 30,000 Hz", async () => {
    const rows = ["time,R,G,B"];
    for (let i = 0; i < 600; i++) rows.push([(i / 30).toFixed(4), ...pulsingSkin(i / 30, 70)].join(","));
    const csv = path.join(dir, "seconds.csv");
    await writeFile(csv, `${rows.join("\n")}\n`);
    const result = await runCli(["rppg", csv, "--rgb", "--out", path.join(dir, "s.json")]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^hrpipe: .*seconds\.csv: its time column gives 30000 samples a second, outside 1-1000; if its times are in seconds, pass --time-unit s\.$/,
    );
    expect(result.stderr).not.toMatch(/face/);
  }, 60_000);

  it("--skin-area whole-frame measures a video that is all skin patch, with one method", async () => {
    const video = path.join(dir, "patch.mp4");
    await writeSkinPatchVideo(video, 66, 25);
    const out = path.join(dir, "patch.json");
    const result = await runCli([
      "rppg",
      video,
      "--skin-area",
      "whole-frame",
      "--method",
      "chrom",
      "--out",
      out,
    ]);
    expect(result.code).toBe(0);
    const output = JSON.parse(await readFile(out, "utf8")) as RppgOutput;
    expect(Object.keys(output.methods)).toEqual(["chrom"]);
    expect(Math.abs(output.methods.chrom!.hrBpm! - 66)).toBeLessThan(2);
  }, 60_000);
});

describe("hrpipe rppg on a dataset folder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe rppg folder "));
    for (const [name, hrBpm] of [
      ["calm", 66],
      ["brisk", 96],
    ] as const) {
      await writeSkinPatchVideo(path.join(dir, `${name}.mp4`), hrBpm, 20);
      await writeFile(
        path.join(dir, `${name}-hr.csv`),
        `t,bpm\n${Array.from({ length: 21 }, (_, t) => `${t},${hrBpm}`).join("\n")}\n`,
      );
    }
    // A copy cut short, as an interrupted download leaves it.
    const whole = await readFile(path.join(dir, "brisk.mp4"));
    await writeFile(path.join(dir, "cut.mp4"), whole.subarray(0, Math.floor(whole.length / 3)));
    await writeFile(
      path.join(dir, "manifest.csv"),
      "video,subject,reference,kind,column,time_column\n" +
        "calm.mp4,s1,calm-hr.csv,hr,bpm,t\n" +
        "brisk.mp4,s2,brisk-hr.csv,hr,bpm,t\n" +
        "cut.mp4,s3,brisk-hr.csv,hr,bpm,t\n",
    );
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reports every video against its reference (path with spaces, layout detected) and excludes a truncated one with a reason", async () => {
    const { result, report } = await rppgFolderPos<{
      layout: string;
      videos: {
        subject: string;
        referenceHrBpm: number | null;
        excluded: string | null;
        methods: {
          pos?: {
            hrBpm: number;
            windows: { referenceHrBpm: number | null }[];
            hrv: { whole: { meanIbiMs: number | null; rmssdMs: number | null } };
          };
        };
      }[];
      metrics: {
        pos: {
          videos: { n: number; mae: number };
          windows: { n: number };
          windowBands: { bands: string[]; accuracy: number; confusion: number[][] };
        };
      };
    }>(dir, ["--hrv"]);
    expect(report.layout).toBe("generic");
    const [calm, brisk, cut] = report.videos;
    expect(calm!.referenceHrBpm).toBe(66);
    expect(Math.abs(calm!.methods.pos!.hrBpm - 66)).toBeLessThan(2);
    expect(Math.abs(brisk!.methods.pos!.hrBpm - 96)).toBeLessThan(2);
    expect(calm!.methods.pos!.windows.every((w) => w.referenceHrBpm === 66)).toBe(true);
    expect(cut!.excluded).toMatch(/cut\.mp4/);
    expect(report.metrics.pos.videos.n).toBe(2);
    expect(report.metrics.pos.videos.mae).toBeLessThan(2);
    // 66 bpm is in the 60-80 band and 96 bpm in 80-100, every window of each.
    const bands = report.metrics.pos.windowBands;
    expect(bands.accuracy).toBe(1);
    expect(bands.confusion[bands.bands.indexOf("60-80")]![bands.bands.indexOf("60-80")]).toBe(
      report.metrics.pos.windows.n / 2,
    );
    expect(result.stdout).toMatch(/generic: 3 videos, 2 with a reference, 1 excluded/);
    // Beats too: 66 bpm is a beat every 909 ms; --hrv prints each video's RMSSD.
    expect(Math.abs(calm!.methods.pos!.hrv.whole.meanIbiMs! - 60_000 / 66)).toBeLessThan(20);
    expect(result.stdout).toMatch(
      /RMSSD per video, ms \(flagged intervals\):\n.*\n.*\n\S+ +\S+ +\d+ \(\d+%\)/,
    );
  }, 120_000);
});

describe("hrpipe rppg on a PURE folder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-rppg-pure-"));
    // 20 s of skin pulsing at 72 bpm as PURE keeps it: PNG frames named by their capture time in ns,
    // and a JSON with the oximeter's waveform (60 Hz) and every frame's time.
    const video = path.join(dir, "patch.mp4");
    await writeSkinPatchVideo(video, 72, 20);
    await mkdir(path.join(dir, "01-01"));
    execFileSync("ffmpeg", ["-v", "error", "-i", video, path.join(dir, "01-01", "%04d.png")]);
    await rm(video);
    const epochNs = 1_392_643_993_642_815_000;
    const frameNs = (k: number) => epochNs + Math.round((k * 1e9) / 30);
    const names = (await readdir(path.join(dir, "01-01"))).sort();
    for (const [k, name] of names.entries())
      await rename(path.join(dir, "01-01", name), path.join(dir, "01-01", `Image${frameNs(k)}.png`));
    const pulse = Array.from({ length: 20 * 60 }, (_, i) => ({
      Timestamp: epochNs + Math.round((i * 1e9) / 60),
      Value: { waveform: Math.round(50 + 40 * Math.sin((2 * Math.PI * 1.2 * i) / 60)) },
    }));
    await writeFile(
      path.join(dir, "01-01.json"),
      JSON.stringify({ "/FullPackage": pulse, "/Image": names.map((_, k) => ({ Timestamp: frameNs(k) })) }),
    );
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("measures the frame folder as a video of its images, against its JSON's waveform", async () => {
    const { result, report } = await rppgFolderPos<{ videos: PosVideo[] }>(dir);
    expect(result.stdout).toMatch(/pure: 1 videos, 1 with a reference, 0 excluded/);
    const [video] = report.videos;
    expect(video!.durationS).toBeCloseTo(20, 1);
    expect(Math.abs(video!.referenceHrBpm - 72)).toBeLessThan(1);
    expect(Math.abs(video!.methods.pos.hrBpm - 72)).toBeLessThan(2);
  }, 60_000);
});

describe("hrpipe rppg on a camera that dropped frames", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-rppg-dropped-"));
    // A 30-fps camera filming skin pulsing at 90 bpm dropped 20 frames twice in 20 s (0.67 s, as long
    // as UBFC-rPPG's longest gap, and whole pulses: no phase jump, so the clock alone sets the rate);
    // the file holds the 560 it kept at their average rate, 28 fps, and frames.csv each one's unix time.
    const kept = Array.from({ length: 600 }, (_, k) => k).filter(
      (k) => ![200, 400].some((d) => k >= d && k < d + 20),
    );
    const encoder = new VideoEncoder(path.join(dir, "camera.mp4"), {
      width: 64,
      height: 48,
      fps: 28,
      crf: 10,
    });
    const frame = new Uint8Array(64 * 48 * 3);
    for (const k of kept) {
      const [r, g, b] = pulsingSkin(k / 30, 90, 0.03);
      for (let p = 0; p < frame.length; p += 3) frame.set([r, g, b], p);
      await encoder.write(frame);
    }
    await encoder.close();
    const epochS = 1_700_000_000;
    await writeFile(
      path.join(dir, "frames.csv"),
      `frame,timestamp\n${kept.map((k, i) => `${i},${(epochS + k / 30).toFixed(3)}`).join("\n")}\n`,
    );
    await writeFile(
      path.join(dir, "hr.csv"),
      `t,bpm\n${Array.from({ length: 21 }, (_, s) => `${epochS + s},90`).join("\n")}\n`,
    );
    await writeFile(
      path.join(dir, "manifest.csv"),
      "video,reference,kind,column,time_column,frame_times,frame_time_column\n" +
        "camera.mp4,hr.csv,hr,bpm,t,frames.csv,timestamp\n",
    );
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("measures on the rate its frame-times table gives (30 fps), not the file's average (28: 6 bpm low)", async () => {
    const [video] = (await rppgFolderPos<{ videos: PosVideo[] }>(dir)).report.videos;
    expect(video!.durationS).toBeCloseTo(560 / 30, 1);
    expect(video!.referenceHrBpm).toBe(90);
    expect(Math.abs(video!.methods.pos.hrBpm - 90), `${video!.methods.pos.hrBpm}`).toBeLessThan(1);
  }, 60_000);
});

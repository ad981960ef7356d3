import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type RunReport, runReportSchema } from "@hrpipe/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import { ubfcAsPure, ubfcClips, ubfcDev } from "../harness/ubfc-clips.ts";

const subjects = ["subject3", "subject8"];

/**
 * `hrpipe run <folder>` as a new user runs it: real UBFC-rPPG recordings (16-s cuts: the CNN is scored on windows at least half covered by labelled frames, and labels need 5 s on each side; the box skin area, 3x faster, keeps the suite light) in a folder whose
 * name has a space, one video truncated, no --layout: a private Redis, file storage, every stage,
 * and report.json with each video's reference and every method; then the same folder as plain videos.
 */
describe("hrpipe run <folder>", () => {
  let root: string;
  let folder: string;
  let storage: string;
  /** The first test's run and report: the UBFC-rPPG layout's view of the recordings. */
  let ubfcRunId: string | undefined;
  let ubfcReport: RunReport | undefined;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-run-folder-"));
    folder = path.join(root, "my UBFC copy");
    storage = `file://${path.join(root, "storage")}`;
    await ubfcClips(folder, [...subjects, "subject9"], 16);
    // A copy cut off after its first bytes, as an interrupted download leaves it.
    const whole = await readFile(path.join(folder, "subject9", "vid.mp4"));
    await writeFile(path.join(folder, "subject9", "vid.mp4"), whole.subarray(0, whole.length / 3));
    // rPPG-Toolbox's PURE-trained PhysNet, imported as a user imports it, into the runs' storage.
    const imported = await runCli(
      [
        ...[
          "model",
          "import",
          path.resolve(ubfcDev, "../../models/rppg-toolbox/PURE_PhysNet_DiffNormalized.pth"),
        ],
        ...["--arch", "physnet", "--name", "physnet-pure", "--trained-on", "PURE", "--storage", storage],
      ],
      { LOG_LEVEL: "error" },
    );
    expect(imported.code, imported.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /**
   * `hrpipe run DATASET --out <root>/OUT` on the test's storage, with the box skin area (3x faster) and
   * `args`; it must exit 0, and its report.json is read back.
   */
  async function hrpipeRun(dataset: string, out: string, args: string[]) {
    const outDir = path.join(root, out);
    const result = await runCli(
      ["run", dataset, "--out", outDir, "--storage", storage, "--skin-area", "box", ...args],
      { LOG_LEVEL: "error" },
    );
    expect(result.code, result.stderr).toBe(0);
    const report = runReportSchema.parse(
      JSON.parse(await readFile(path.join(outDir, "report.json"), "utf8")),
    );
    return { result, report, outDir };
  }

  it("detects UBFC-rPPG, reports every video with its PPG reference, every method and the network (imported and fine-tuned), and excludes the truncated one", async () => {
    const {
      result,
      report,
      outDir: out,
    } = await hrpipeRun(folder, "out ubfc", [
      ...["--cnn", "densenet", "--features-fps", "5", "--epochs", "2", "--protocols", "unseen-participants"],
      ...["--neural", "physnet-pure"],
    ]);
    ubfcReport = report;
    ubfcRunId = /run id: (\S+)/.exec(result.stdout)?.[1];
    expect(report.layout).toBe("ubfc-rppg");
    expect(report.videos.map((v) => v.video).sort()).toEqual(
      ["subject3/vid.mp4", "subject8/vid.mp4", "subject9/vid.mp4"].sort(),
    );
    const truncated = report.videos.find((v) => v.subject === "subject9")!;
    expect(truncated.excluded).toMatch(/^subject9\/vid\.mp4 cannot be probed: .*moov atom not found/);
    expect(truncated.excluded).not.toMatch(/blobs\/|hrpipe-decode/);
    for (const video of report.videos.filter((v) => v !== truncated)) {
      expect(video.excluded).toBeNull();
      expect(video.durationS).toBeGreaterThan(15.5);
      expect(video.referenceHrBpm).toBeGreaterThan(50);
      expect(video.referenceHrBpm).toBeLessThan(150);
      for (const method of ["pos", "chrom", "omit", "lgi", "pbv", "ica", "green", "physnet-pure"]) {
        const estimate = video.methods[method]!;
        expect(estimate.windows.length, `${video.video} ${method}`).toBeGreaterThan(0);
        expect(estimate.windows.some((w) => w.referenceHrBpm !== null)).toBe(true);
      }
      expect(
        await readFile(path.join(out, "videos", `${video.participant}-${video.videoId}.svg`), "utf8"),
      ).toMatch(/^<svg/);
    }
    // The unseen-participants protocol tests the CNN on the last subject(s): their videos carry it,
    // and the network as that protocol fine-tuned it on the other subject's PPG.
    expect(report.videos.some((v) => v.methods.cnn?.protocol === "unseen-participants")).toBe(true);
    const tested = report.videos.filter((v) => v.methods["physnet-pure-ft"]);
    expect(tested.map((v) => v.methods["physnet-pure-ft"]!.protocol)).toEqual(["unseen-participants"]);
    const protocol = report.protocols["unseen-participants"]!;
    expect(Object.keys(protocol.metrics.overall.windows)).toEqual(
      expect.arrayContaining(["pos", "physnet-pure", "physnet-pure-ft"]),
    );
    expect(protocol.networks).toEqual([
      expect.objectContaining({
        name: "physnet-pure",
        trainedOn: "PURE",
        tuned: expect.objectContaining({
          layers: ["upsample2.1", "ConvBlock10"],
          trainVideos: 1,
          device: "cpu",
          from: null,
        }),
      }),
    ]);
    const html = await readFile(path.join(out, "report.html"), "utf8");
    expect(html).toContain("Heart rate over time");
    // The opening names this run's estimators and its PPG reference (it said "against the ECG label").
    const opening = /<p>Report version [^<]*<\/p>/.exec(html)![0];
    expect(opening).toMatch(/POS, CHROM, OMIT, LGI, PBV, ICA and GREEN: classical rPPG/);
    expect(opening).toMatch(/physnet-pure \(physnet, trained on PURE\): imported temporal networks/);
    expect(html).toMatch(
      /physnet-pure-ft: upsample2.1, ConvBlock10 trained \(the rest as imported\) on 1 video/,
    );
    expect(opening).toMatch(/against the PPG \(pulse oximeter\)/);
    expect(opening).not.toMatch(/ECG/);
    expect(result.stdout).toMatch(/per video, whole-video heart rate/);
  }, 600_000);

  it("reads PURE's layout (the same recording as PNG frames and a JSON: the same reference and rates) and tests the UBFC-rPPG run's head on it (cross-dataset)", async () => {
    const folder = path.join(root, "pure copy");
    await ubfcAsPure(folder, subjects[0]!, 16);
    const { report } = await hrpipeRun(folder, "out pure", []);
    expect(report.layout).toBe("pure");
    expect(report.videos).toHaveLength(1);
    const [video] = report.videos as [RunReport["videos"][number]];
    expect(video).toMatchObject({ subject: "01", video: "01-01", excluded: null });
    const same = ubfcReport?.videos.find((v) => v.subject === subjects[0]);
    expect(same, "the UBFC-rPPG run above must pass first").toBeDefined();
    // Frame k is image k at the rate the frames' own times give (the camera's between dropped frames),
    // the rate the UBFC-rPPG video was re-timed to from the same times in ground_truth.txt (its file
    // says 29.55 fps, the average over them), and those times carry the waveform onto the frames: the
    // same clock and the same reference.
    expect(Math.abs(video.durationS! / same!.durationS! - 1)).toBeLessThan(0.005);
    expect(Math.abs(video.referenceHrBpm! - same!.referenceHrBpm!)).toBeLessThan(0.5);
    // The same pixels: the methods agree but for that clock and where their windows fall.
    for (const method of ["pos", "chrom"] as const)
      expect(Math.abs(video.methods[method]!.hrBpm! - same!.methods[method]!.hrBpm!), method).toBeLessThan(
        2.5,
      );
    // One subject cannot train and test a head: the run is done with its rPPG results, and says why.
    expect(report.state).toBe("done");
    expect(report.notEvaluated.map((n) => n.protocol).sort()).toEqual([
      "unseen-participants",
      "unseen-videos",
    ]);

    // cross-dataset: the head the UBFC-rPPG run trained, tested on this PURE folder; nothing is
    // uploaded, decoded or tracked again (the run above had no CNN: its faces are embedded now).
    const { result: cross, report: crossReport } = await hrpipeRun(folder, "out cross", [
      ...["--cnn", "densenet", "--features-fps", "5", "--cross-dataset", `${ubfcRunId}:unseen-participants`],
      ...["--neural", "physnet-pure"],
    ]);
    expect(cross.stderr).toMatch(/0 stored now/);
    expect(Object.keys(crossReport.protocols)).toEqual(["cross-dataset"]);
    const cnn = crossReport.videos[0]!.methods.cnn!;
    expect(cnn.protocol).toBe("cross-dataset");
    expect(cnn.windows.some((w) => w.hrBpm !== null && w.referenceHrBpm !== null)).toBe(true);
    // And the network the UBFC-rPPG run fine-tuned, as that run left it.
    const tuned = crossReport.videos[0]!.methods["physnet-pure-ft"]!;
    expect(tuned.protocol).toBe("cross-dataset");
    expect(tuned.windows.some((w) => w.hrBpm !== null && w.referenceHrBpm !== null)).toBe(true);
    expect(crossReport.protocols["cross-dataset"]!.networks[0]!.tuned?.from).toBe(ubfcRunId);
  }, 300_000);

  it("hrpipe rppg on the same folder gives the run's rates and references, window for window, with an --ecg-offset", async () => {
    const one = path.join(root, "one subject");
    await ubfcClips(one, [subjects[0]!], 16);
    const options = ["--skin-area", "box", "--ecg-offset", "0.6"];
    const { report: run } = await hrpipeRun(one, "out one", ["--ecg-offset", "0.6"]);
    const rppg = async (args: string[]) => {
      const out = path.join(root, `rppg ${args.join(" ")}.json`);
      const result = await runCli(["rppg", one, "--out", out, ...args], { LOG_LEVEL: "error" });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(await readFile(out, "utf8")) as { videos: RunReport["videos"] };
    };
    const [local] = (await rppg(options)).videos;
    const [piped] = run.videos;
    expect(local!.referenceHrBpm).toBe(piped!.referenceHrBpm);
    expect(local!.durationS).toBe(piped!.durationS);
    for (const method of ["pos", "chrom", "omit", "lgi", "pbv", "ica", "green"] as const) {
      const windows = (estimate: RunReport["videos"][number]["methods"][string] | undefined) =>
        estimate!.windows.map((w) => [w.startS, w.endS, w.hrBpm, w.referenceHrBpm]);
      expect(local!.methods[method]!.hrBpm, method).toBe(piped!.methods[method]!.hrBpm);
      expect(windows(local!.methods[method]), method).toEqual(windows(piped!.methods[method]));
    }
    expect(piped!.methods.pos!.windows.some((w) => w.referenceHrBpm !== null)).toBe(true);
    // The offset reached both: without it, the windows' references move.
    const [unshifted] = (await rppg(["--skin-area", "box", "--method", "pos"])).videos;
    expect(unshifted!.methods.pos!.windows.map((w) => w.referenceHrBpm)).not.toEqual(
      piped!.methods.pos!.windows.map((w) => w.referenceHrBpm),
    );
  }, 300_000);

  it("ends at once with the plan's reason when the plan refuses the run (an offset for a participant the folder lacks)", async () => {
    const offsets = path.join(root, "offsets.csv");
    await writeFile(offsets, "participant,offset_s\nP99,0.5\n");
    const started = performance.now();
    const result = await runCli(
      [
        "run",
        folder,
        "--out",
        path.join(root, "out refused"),
        "--storage",
        storage,
        "--ecg-offsets",
        offsets,
      ],
      { LOG_LEVEL: "error" },
    );
    expect(result.code, `signal ${result.signal}; ${result.stderr.slice(-3000)}`).toBe(1);
    expect(result.stderr).toMatch(/ingest \S+ failed: the ECG offsets name P99, which .* does not have/);
    expect(result.stderr).toMatch(/finished without a report/);
    expect(performance.now() - started).toBeLessThan(60_000);
  }, 120_000);

  it("runs the same folder as plain videos: heart rate over time per video, no reference, no errors", async () => {
    const { result, report } = await hrpipeRun(folder, "out videos", ["--layout", "videos"]);
    expect(result.stderr).toMatch(/0 stored now/);
    expect(report.state).toBe("done");
    const measured = report.videos.filter((v) => v.excluded === null);
    expect(measured).toHaveLength(2);
    for (const video of measured) {
      expect(video.referenceHrBpm).toBeNull();
      expect(video.methods.pos!.hrBpm).toBeGreaterThan(40);
      expect(video.methods.pos!.windows.every((w) => w.referenceHrBpm === null)).toBe(true);
    }
    expect(report.notEvaluated[0]!.reason).toMatch(/no video has a reference/);
  }, 300_000);
});

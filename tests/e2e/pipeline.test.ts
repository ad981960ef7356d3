import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { artifactKeys, estimatorNames, jobIds, runReportSchema } from "@hrpipe/contracts";
import { VideoEncoder } from "@hrpipe/media";
import { freePort, readArtifact, readManifest, type StageQueues } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import { chromiumFlags, chromiumPath } from "../harness/chromium.ts";
import { createTestServices, type TestServices } from "../harness/context.ts";
import {
  startHrpipe,
  startWorkerProcess,
  type WorkerProcess,
  waitForRun,
  waitUntil,
} from "../harness/processes.ts";

/** Shared with the browser suite at the end of the file, which reads the finished run. */
const shared: { env: Record<string, string> } = { env: {} };

/**
 * The whole pipeline through the harness's Redis and S3 server with workers in child processes: a
 * tiny synthetic dataset plus a corrupt video and a corrupt .mat, one face worker SIGKILLed in the
 * middle of a job, and the run still ends with a report of both protocols.
 */
describe("end to end: synth, ingest, workers in child processes, report", () => {
  let services: TestServices;
  let queues: StageQueues;
  const workers: WorkerProcess[] = [];
  let env: Record<string, string>;
  let faceEnv: Record<string, string>;
  const runId = "e2e1";

  beforeAll(async () => {
    services = await createTestServices("e2e");
    env = { ...services.env, HRPIPE_STALLED_INTERVAL_MS: "5000", HRPIPE_TFJS_BACKEND: "wasm" };
    // Face jobs are short: a 5-s lock lets a killed face worker's job move on within seconds.
    faceEnv = { ...env, HRPIPE_LOCK_DURATION_MS: "5000" };
    shared.env = env;
    queues = services.queues();
    await synthDataset(services.storage, {
      participants: 3,
      videos: 2,
      seconds: 12,
      seed: 7,
      width: 256,
      height: 192,
      fps: 25,
      prefix: "datasets/tiny",
    });
    // A video whose bytes end halfway, and a participant whose .mat is not a MAT-file.
    const video = await services.storage.get("datasets/tiny/faces/P01/P01_4_face.mov");
    await services.storage.put(
      "datasets/tiny/faces/P01/P01_9_face.mov",
      video.subarray(0, Math.floor(video.length / 2)),
    );
    await services.storage.put(
      "datasets/tiny/ecg/Data_Preprocessed_P4.mat",
      Buffer.from("this is not a MAT-file"),
    );
    await services.storage.put("datasets/tiny/faces/P04/P04_4_face.mov", video);
    // A labelled video in which no frame shows a face.
    const noFace = path.join(tmpdir(), `hrpipe-noface-${process.pid}.mov`);
    const encoder = new VideoEncoder(noFace, { width: 256, height: 192, fps: 25 });
    const frame = new Uint8Array(256 * 192 * 3);
    for (let k = 0; k < 12 * 25; k++) {
      for (let p = 0; p < frame.length; p++) frame[p] = (p * 7 + k * 13) % 256;
      await encoder.write(frame);
    }
    await encoder.close();
    await services.storage.put("datasets/tiny/faces/P03/P03_5_face.mov", await readFile(noFace));
    await rm(noFace);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop("SIGKILL")));
    await queues.close();
    await services.cleanup();
  });

  it("completes a run with both protocols despite a SIGKILLed face worker and bad inputs", async () => {
    workers.push(
      startWorkerProcess(["ingest", "labels", "decode", "features", "train", "eval", "report"], env),
    );
    const victim = startWorkerProcess(["face"], faceEnv);
    workers.push(victim);
    const ingest = await runCli(
      [
        "ingest",
        "datasets/tiny",
        "--run-id",
        runId,
        "--epochs",
        "3",
        "--segment",
        "4",
        "--features-fps",
        "5",
        "--cnn",
        "densenet",
      ],
      env,
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    expect(ingest.stdout.trim()).toBe(runId);

    // Kill the only face worker while it holds a job, then start another one.
    const victimPid = String(victim.child.pid);
    const taken = await waitUntil(
      async () =>
        (await queues.queue("face").getActive()).find((job) => job.processedBy?.endsWith(`:${victimPid}`)),
      `a face job active on worker ${victimPid}`,
      120_000,
    );
    await victim.stop("SIGKILL");
    workers.push(startWorkerProcess(["face"], faceEnv));

    // The killed job is taken over after the stall interval and completes (read before the ended
    // run retires its jobs from Redis).
    const resumed = await waitUntil(
      async () => {
        const job = await queues.queue("face").getJob(taken.id!);
        return job && (await job.getState()) === "completed" ? job : undefined;
      },
      `face job ${taken.id} to be taken over and completed`,
      420_000,
      200,
    );
    expect(resumed.processedBy).not.toContain(`:${victimPid}`);

    // Two cores shared with the other e2e files (infra, storage outage): the run takes 3-5 min here.
    const progress = await waitForRun(queues, services.storage, runId, 420_000).catch((error) => {
      throw new Error(`${error.message}\n${workers.map((w) => w.output().slice(-3000)).join("\n---\n")}`);
    });

    // Every planned segment of every usable video has exactly one faces and one traces shard.
    const manifest = await readManifest(services.storage, runId);
    const faces = (await services.storage.list("faces/")).map((o) => o.key);
    const traces = (await services.storage.list("traces/")).map((o) => o.key);
    for (const video of manifest.artifacts) {
      for (const segment of video.segments) {
        expect(faces.filter((k) => k === segment.facesKey)).toHaveLength(1);
        expect(traces.filter((k) => k === segment.tracesKey)).toHaveLength(1);
      }
    }
    expect(manifest.artifacts.map((v) => `${v.participant}/${v.videoId}`).sort()).toEqual([
      "P01/4",
      "P01/5",
      "P02/4",
      "P02/5",
      "P03/4",
    ]);
    // Chunks are deleted once their face job is done, or has failed for good.
    expect((await services.storage.list("frames/")).map((o) => o.key)).toEqual([]);

    // The corrupt video and the corrupt .mat end as exclusions with their reasons.
    expect(manifest.excluded).toContainEqual(
      expect.objectContaining({
        stage: "decode",
        participant: "P01",
        videoId: "9",
        reason: expect.stringMatching(/P01_9_face\.mov is truncated/),
      }),
    );
    expect(manifest.excluded).toContainEqual(
      expect.objectContaining({
        stage: "labels",
        participant: "P04",
        reason: expect.stringMatching(/Data_Preprocessed_P4\.mat is not a readable MAT-file/),
      }),
    );
    expect(manifest.excluded).toContainEqual(
      expect.objectContaining({
        stage: "face",
        participant: "P03",
        videoId: "5",
        reason: expect.stringMatching(/^no face anywhere in .*P03_5_face\.mov/),
      }),
    );
    expect(progress.stages.train).toMatchObject({ done: 2, failed: 0 });
    expect(progress.stages.eval).toMatchObject({ done: 2, failed: 0 });
    expect(progress.stages.report).toMatchObject({ done: 1, failed: 0 });
    expect(progress.manifest?.state).toBe("done");

    const report = await readArtifact(services.storage, artifactKeys.runReport(runId), runReportSchema);
    expect(Object.keys(report.protocols).sort()).toEqual(["unseen-participants", "unseen-videos"]);
    for (const protocol of Object.values(report.protocols)) {
      expect(Object.keys(protocol!.metrics.overall.windows).sort()).toEqual([...estimatorNames].sort());
      // Test frames with a CNN prediction: 5 embedded a second (--features-fps 5).
      expect(protocol!.metrics.overall.frames!.n).toBeGreaterThan(20);
      expect(protocol!.windows.count).toBeGreaterThan(0);
      expect(protocol!.cnn!.weights.kind).toBe("random-init");
    }
    expect(await services.storage.exists(`runs/${runId}/reports/report.html`)).toBe(true);
    expect(
      createHash("sha256")
        .update(await services.storage.get(`runs/${runId}/models/unseen-videos/weights.bin`))
        .digest("hex"),
    ).toHaveLength(64);
    // The ended run's jobs have left Redis; its job counters are in its manifest.
    expect(await queues.queue("ingest").getJob(jobIds.ingest(runId))).toBeUndefined();
    const counters = (await readManifest(services.storage, runId)).jobs!;
    expect(counters.stages.features!.computed).toBeGreaterThan(0);
    expect(counters.stages.report).toMatchObject({ done: 1, failed: 0, pending: 0 });
  }, 480_000);

  it("re-ingesting the same dataset and options recomputes nothing: labels, shards and heads are reused", async () => {
    const again = await runCli(
      [
        "ingest",
        "datasets/tiny",
        "--run-id",
        "e2e2",
        "--epochs",
        "3",
        "--segment",
        "4",
        "--features-fps",
        "5",
        "--cnn",
        "densenet",
      ],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    await waitForRun(queues, services.storage, "e2e2", 240_000);
    const manifest = await readManifest(services.storage, "e2e2");
    expect(manifest.reused.labels).toBe(6);
    expect(manifest.reused.faceSegments).toBeGreaterThanOrEqual(
      manifest.artifacts.reduce((sum, v) => sum + v.segments.length, 0),
    );
    const first = await readManifest(services.storage, runId);
    // The job counters of `hrpipe status RUN --json`: no ecg, decode, face, features or train job did
    // any work (train reused its heads: same options; with others it trains, from cached features).
    const status = await runCli(["status", "e2e2", "--json"], env);
    expect(status.code, status.stderr).toBe(0);
    const stages = (JSON.parse(status.stdout) as { run: { stages: Record<string, Record<string, number>> } })
      .run.stages;
    for (const stage of ["labels", "decode", "face", "features", "train"])
      expect(stages[stage]!.computed, stage).toBe(0);
    // Every segment with faces was embedded the first time (videos later excluded for want of labels
    // included): all reused now.
    expect(stages.features!.reused).toBeGreaterThanOrEqual(
      manifest.artifacts.reduce((sum, v) => sum + v.segments.filter((s) => s.featuresKey).length, 0),
    );
    expect(stages.labels!.reused).toBe(3);
    expect(stages.decode!.reused).toBe(manifest.videos.length - 1);
    expect((stages.face?.done ?? 0) + (stages.face?.failed ?? 0)).toBe(0);
    expect(stages.train!.reused).toBe(2);
    // The segments without a face are excluded again, from what the first run remembered.
    expect(manifest.excluded.filter((e) => e.stage === "face" && e.segment !== undefined).length).toBe(
      first.excluded.filter((e) => e.stage === "face" && e.segment !== undefined).length,
    );
  }, 300_000);

  it("hrpipe status, report and artifacts read the finished run", async () => {
    const status = await runCli(["status", runId], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/run e2e1: done, finished/);
    const report = await runCli(["report", runId], env);
    expect(report.stdout).toMatch(/unseen-participants: .*windows/);
    expect(report.stdout).toMatch(/POS \(windows\)/);
    expect(report.stdout).toMatch(/per video, whole-video heart rate/);
    const json = await runCli(["report", runId, "--json"], env);
    expect(json.code, json.stderr).toBe(0);
    const parsed = runReportSchema.parse(JSON.parse(json.stdout));
    expect(parsed.videos.filter((v) => v.excluded === null)).toHaveLength(5);
    // Scored per video wherever both a reference and a rate exist (a video with a faceless segment
    // in its middle has no 10-s window wholly covered, so no rPPG rate).
    const scored = parsed.videos.filter((v) => v.referenceHrBpm !== null && v.methods.pos?.hrBpm != null);
    expect(scored.length).toBeGreaterThan(0);
    expect(parsed.videoMetrics.pos?.n).toBe(scored.length);
    const out = `/tmp/hrpipe-e2e-artifacts-${process.pid}`;
    const artifacts = await runCli(["artifacts", runId, "--out", out], env);
    expect(artifacts.code, artifacts.stderr).toBe(0);
    expect(artifacts.stdout).toMatch(/open .*reports\/report\.html/);
  }, 60_000);

  describe.runIf(existsSync(chromiumPath))("dashboard and report in headless Chromium", () => {
    it("serves queues, runs with a working report link, Prometheus metrics, and 401 without credentials", async () => {
      // Uses the finished run of the suite above (same file, same services).
      const port = await freePort();
      const credentials = { HRPIPE_DASHBOARD_USER: "ops", HRPIPE_DASHBOARD_PASSWORD: "s3cret" };
      const dashboard = startHrpipe(["dashboard", "--port", String(port)], { ...shared.env, ...credentials });
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitUntil(
          async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok,
          "the dashboard",
          60_000,
        );
        // The UI is behind auth; /metrics is not (Prometheus carries no credentials).
        expect((await fetch(`${base}/runs`)).status).toBe(401);
        const scraped = await fetch(`${base}/metrics`);
        expect(scraped.status).toBe(200);
        const metrics = await scraped.text();
        for (const line of metrics.split("\n").filter((l) => l !== "")) {
          expect(line).toMatch(
            /^(# (HELP|TYPE) .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_]+="[^"]*"(,[a-zA-Z_]+="[^"]*")*\})? -?\d+(\.\d+)?(e[-+]?\d+)?)$/,
          );
        }
        // Ended runs leave their report jobs in Redis (the rest retired with the run).
        expect(metrics).toMatch(/^hrpipe_queue_jobs\{queue="report",state="completed"\} [1-9]\d*$/m);
        expect(metrics).toMatch(/^hrpipe_queue_jobs\{queue="decode",state="prioritized"\} 0$/m);

        const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
        try {
          const context = await browser.newContext({
            httpCredentials: { username: "ops", password: "s3cret" },
          });
          const page = await context.newPage();
          const errors: string[] = [];
          page.on("pageerror", (error) => errors.push(error.message));
          await page.goto(`${base}/queues/`);
          for (const stage of ["ingest", "labels", "decode", "face", "features", "train", "eval", "report"]) {
            await expect(page.getByText(stage, { exact: true }).first()).toBeTruthy();
          }
          await page.waitForSelector("text=face", { timeout: 30_000 });
          const queuesText = await page.textContent("body");
          expect(queuesText).toMatch(/decode/);
          expect(queuesText).toMatch(/eval/);

          await page.goto(`${base}/runs`);
          const row = page.locator("tr", { hasText: "e2e1" });
          await expect(await row.count()).toBe(1);
          await row.getByRole("link", { name: "report" }).click();
          await page.waitForLoadState("load");
          expect(await page.title()).toBe("hrpipe report e2e1");
          const figures = await page.$$eval("figure svg", (svgs) =>
            svgs.map((svg) => svg.getBoundingClientRect().width * svg.getBoundingClientRect().height),
          );
          // Four per protocol, and each usable video's heart rate over time.
          expect(figures.length).toBe(8 + 5);
          for (const area of figures) expect(area).toBeGreaterThan(10_000);
          await page.screenshot({ path: `/tmp/hrpipe-report-${process.pid}.png`, fullPage: true });
          expect(errors).toEqual([]);
        } finally {
          await browser.close();
        }
      } finally {
        await dashboard.stop();
      }
    }, 120_000);

    it("report.html fetched with hrpipe artifacts opens offline and shows its figures", async () => {
      const out = `/tmp/hrpipe-e2e-offline-${process.pid}`;
      expect((await runCli(["artifacts", "e2e1", "--out", out], shared.env)).code).toBe(0);
      const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
        await page.goto(`file://${out}/reports/report.html`);
        // Nothing runs off the right edge at 1280 px (the Bland-Altman row of eight panels did).
        const overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth");
        expect(overflow as number).toBeLessThanOrEqual(0);
        const opening = await page.textContent("p");
        expect(opening).toMatch(/CNN: frozen DenseNet-161/);
        expect(opening).toMatch(/POS, CHROM, OMIT, LGI, PBV, ICA and GREEN: classical rPPG/);
        expect(opening).toMatch(/against the ECG over the same window/);
        const shot = await page.screenshot({ fullPage: true });
        expect(shot.length).toBeGreaterThan(50_000);
        const marks = await page.$$eval(
          "figure svg .mark-symbol path, figure svg .mark-rect path, figure svg .mark-line path",
          (paths) => paths.length,
        );
        expect(marks).toBeGreaterThan(20);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 60_000);
  });
});

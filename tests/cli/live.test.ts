import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { chromiumFlags, chromiumPath } from "../harness/chromium.ts";
import { repoRoot, runCli } from "./run-cli.ts";

const video = path.resolve(repoRoot, "../shared/data/ubfc-rppg-dev/subject3/vid.mp4");
/** rPPG-Toolbox's whole-video reference for this video (../shared/fixtures/rppg-toolbox-neural/index.json). */
const referenceHrBpm = 88.8;

/** The live page in headless Chromium: its number shown and changing as events arrive, nothing from elsewhere. */
async function checkPage(url: string) {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
  try {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    const response = await page.goto(url);
    expect(response!.headers()["content-security-policy"]).toMatch(/script-src 'self'/);
    const html = await response!.text();
    // Every script is a file of the page's own: no inline script.
    expect([...html.matchAll(/<script\b[^>]*>/g)].every(([tag]) => /\bsrc="\/[^"]+"/.test(tag))).toBe(true);
    // Polled from outside: the page's CSP refuses evaluated strings, as it should.
    await expect.poll(() => page.textContent("#hr"), { timeout: 20_000 }).toMatch(/^\d+$/);
    const first = await page.textContent("#quality");
    await expect.poll(() => page.textContent("#quality"), { timeout: 5_000 }).not.toBe(first);
    expect(await page.textContent("#quality")).toMatch(/^t \d+ s, pos/);
    await expect
      .poll(() => page.$eval("#frame", (img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(640);
    expect(requested.every((address) => address.startsWith(url))).toBe(true);
  } finally {
    await browser.close();
  }
}

interface LiveLine {
  tS: number;
  hrBpm: number | null;
  confidence: number | null;
  lowQuality: boolean;
  method: string;
  latencyS: number;
}

describe.skipIf(!existsSync(video))("hrpipe live", () => {
  it("plays a real face video in real time: an estimate a second after the first window, near the reference, soon after each frame, on stdout, on its page and in its record; SIGINT ends it with a summary", async () => {
    const record = await mkdtemp(path.join(tmpdir(), "hrpipe-live-record-"));
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, "apps/cli/bin/hrpipe.js"),
        ...["live", video, "--realtime", "--http", "0", "--record", record],
      ],
      // A process group of its own, signalled as a terminal's Ctrl-C signals every process in it.
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const closed = new Promise<number | null>((resolve) => child.once("close", (exit) => resolve(exit)));
    const started = performance.now();
    let stdout = "";
    let stderr = "";
    let pageChecked: Promise<void> | undefined;
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const url = /live: page at (\S+)/.exec(stderr)?.[1];
      if (url && !pageChecked && existsSync(chromiumPath)) pageChecked = checkPage(url);
    });
    const lines: LiveLine[] = [];
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const complete = stdout.split("\n").slice(0, -1);
        lines.splice(0, lines.length, ...complete.map((line) => JSON.parse(line) as LiveLine));
        if (lines.length >= 4) resolve();
      });
      void closed.then(() => resolve());
    });
    const elapsedS = (performance.now() - started) / 1000;
    if (existsSync(chromiumPath)) {
      expect(pageChecked, stderr).toBeDefined();
      await pageChecked;
    }
    process.kill(-child.pid!, "SIGINT");
    const code = await closed;
    expect(code, stderr).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    // Real time: the 4th estimate (13 s of video) cannot come before 13 s have passed.
    expect(elapsedS).toBeGreaterThan(12.5);
    expect(lines.map((l) => l.tS).slice(0, 4)).toEqual([10, 11, 12, 13]);
    for (const line of lines) {
      expect(line.method).toBe("pos");
      expect(line.latencyS).toBeGreaterThanOrEqual(0);
      expect(line.latencyS).toBeLessThan(1.5);
    }
    const rates = lines.flatMap((l) => (l.hrBpm === null ? [] : [l.hrBpm])).sort((a, b) => a - b);
    expect(Math.abs(rates[rates.length >> 1]! - referenceHrBpm)).toBeLessThan(5);
    expect(stderr).toMatch(
      /live: .*vid\.mp4: \d+ estimates over .* median latency .* a face in 100% of \d+ frames \(stopped\)/,
    );
    // The record holds what was printed, and a trace that `hrpipe rppg --rgb` measures again.
    const recorded = (await readFile(path.join(record, "estimates.jsonl"), "utf8")).trim().split("\n");
    expect(recorded).toEqual(stdout.trim().split("\n"));
    const trace = (await readFile(path.join(record, "trace.csv"), "utf8")).trim().split("\n");
    expect(trace[0]).toBe("frame,R,G,B");
    expect(trace.length - 1).toBeGreaterThanOrEqual(13 * 30);
    const again = await runCli([
      "rppg",
      path.join(record, "trace.csv"),
      "--rgb",
      "--fps",
      "30",
      "--method",
      "pos",
      "--out",
      path.join(record, "again.json"),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(Math.abs(Number(/^pos +([\d.]+) bpm/m.exec(again.stdout)![1]) - referenceHrBpm)).toBeLessThan(5);
    await rm(record, { recursive: true, force: true });
  }, 60_000);

  it("ends with a message naming a source that cannot be read, and exit code 1", async () => {
    const result = await runCli(["live", path.join(repoRoot, "no such camera.mp4")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /no such camera\.mp4: ffmpeg stopped with exit code 1 .*check the device, URL or file/,
    );
    expect(result.stdout).toBe("");
  }, 30_000);
});

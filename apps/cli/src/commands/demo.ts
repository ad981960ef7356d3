import { artifactKeys, newRunId } from "@hrpipe/contracts";
import { synthDataset } from "@hrpipe/synth";
import { LocalPipeline, phaseTable } from "../local-pipeline.ts";
import { ProgressLine } from "../output.ts";
import { ingestPayload, type RunCommandOptions } from "../run-options.ts";
import { startRun } from "./ingest.ts";
import { localPathOf, renderReport } from "./report.ts";
import { parseSize } from "./synth.ts";

export interface DemoCommandOptions extends RunCommandOptions {
  redis?: string;
  storage: string;
  participants: string;
  videos: string;
  seconds: string;
  size: string;
  seed: string;
}

/**
 * `hrpipe demo`: the whole pipeline on one machine. A private Redis (unless --redis), file storage
 * (unless --storage), a synthetic dataset, every stage as real BullMQ workers in this process, per-stage
 * progress, and at the end the metrics table and the path of report.html.
 */
export async function demoCommand(options: DemoCommandOptions): Promise<number> {
  const started = performance.now();
  const pipeline = await LocalPipeline.start({
    redis: options.redis,
    storage: options.storage,
    name: "demo",
    // An invalid --cnn is refused by the ingest payload below, naming the flag.
    cnn: options.cnn === "densenet" ? "densenet" : "none",
  });
  const { storage, queues } = pipeline;
  const { width, height } = parseSize(options.size);
  const [participants, videos, seconds, seed] = [
    Number(options.participants),
    Number(options.videos),
    Number(options.seconds),
    Number(options.seed),
  ];
  const datasetPrefix = `datasets/demo-s${seed}-${participants}x${videos}x${seconds}s-${width}x${height}`;
  try {
    const truthFiles = await storage.list(`${datasetPrefix}/truth/`);
    if (truthFiles.length < participants) {
      const progress = new ProgressLine("synth   ");
      await synthDataset(storage, {
        participants,
        videos,
        seconds,
        seed,
        width,
        height,
        fps: 25,
        prefix: datasetPrefix,
        onVideo: (done, total) => progress.update(done, total, "videos"),
      });
    } else {
      process.stderr.write(`demo: reusing the synthetic dataset in ${storage.url}/${datasetPrefix}\n`);
    }
    const synthS = (performance.now() - started) / 1000;
    const runId = newRunId();
    // Every other option is the pipeline's default (the payload schemas fill them in).
    await startRun(queues, storage, await ingestPayload(runId, datasetPrefix, options));
    process.stderr.write(`demo: run ${runId} queued\n`);
    const run = await pipeline.follow(runId, started);
    if (!run.report) return 1;
    const totalS = (performance.now() - started) / 1000;
    process.stdout.write(`\n${renderReport(run.report)}\n`);
    process.stdout.write(`${phaseTable(run, [["synthetic dataset", synthS]], totalS)}\n`);
    const htmlKey = artifactKeys.runReportHtml(runId);
    const html = localPathOf(storage, htmlKey) ?? `${storage.url}/${htmlKey}`;
    process.stdout.write(`\nreport: ${html}\nrun id: ${runId}\n`);
    return 0;
  } finally {
    await pipeline.close();
  }
}

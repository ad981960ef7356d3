import { readFileSync } from "node:fs";
// Only light modules at the top: --version and --help must not load BullMQ, the AWS SDK, ONNX Runtime
// or TensorFlow.js; each command's module is imported when that command runs.
import {
  configVariables,
  neuralArchitectures,
  runFlagDefault,
  runFlags,
  stageNames,
} from "@hrpipe/contracts";
import { rppgMethods } from "@hrpipe/signal";
import { Command } from "commander";
import type { DashboardCommandOptions } from "./commands/dashboard.ts";
import type { DemoCommandOptions } from "./commands/demo.ts";
import type { EcgCommandOptions } from "./commands/ecg.ts";
import type { FacesCommandOptions } from "./commands/faces.ts";
import type { IngestCommandOptions } from "./commands/ingest.ts";
import type { LiveCommandOptions } from "./commands/live.ts";
import type { MetricsCommandOptions } from "./commands/metrics.ts";
import type { EmbedOptions, FetchWeightsOptions } from "./commands/model.ts";
import type { ModelImportOptions, ModelRunOptions, ModelStorageOptions } from "./commands/neural.ts";
import type { ArtifactsCommandOptions } from "./commands/report.ts";
import type { RppgCommandOptions } from "./commands/rppg.ts";
import type { RunFolderOptions } from "./commands/run.ts";
import type { RunsDeleteOptions, RunsListOptions } from "./commands/runs.ts";
import type { StatusCommandOptions } from "./commands/status.ts";
import type { SynthCommandOptions } from "./commands/synth.ts";
import type { WorkerCommandOptions } from "./commands/worker.ts";
import { UserError, wholeNumber } from "./output.ts";

const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/**
 * The demo embeds 5 face frames per second for the CNN: a 10-s label window still gives it 50 samples,
 * and the backbone, the demo's largest cost on a CPU, runs on a fifth of the frames.
 */
const demoFeaturesFps = 5;

/** Commander parsers: a flag's value as a number; zod checks its range where the option is used. */
const num = (flag: string) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed))
    throw new UserError(`${flag} must be a number, not ${JSON.stringify(value)}.`);
  return parsed;
};
const int = (flag: string) => (value: string) => {
  const parsed = num(flag)(value);
  if (!Number.isInteger(parsed))
    throw new UserError(`${flag} must be a whole number, not ${JSON.stringify(value)}.`);
  return parsed;
};

/** The one meaning of --force, in every command that writes an --out folder (see OutputFolder). */
const forceHelp =
  "write into a non-empty output folder (--out, --record) that hrpipe did not make (nothing in it is deleted)";

/** HRPIPE_DEBUG: errors print their stack and cause chain instead of one sentence. */
const debugErrors = () => ["1", "true", "yes"].includes(process.env.HRPIPE_DEBUG ?? "");

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].map((l) => `  ${l}`).join("\n");
}

/** Runs a command's action and turns its outcome into an exit code; expected failures print one line. */
function action<A extends unknown[]>(run: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? 0;
    } catch (error) {
      if (debugErrors() || !(error instanceof Error)) console.error(error);
      else console.error(`hrpipe: ${error.message}`);
      process.exitCode = error instanceof UserError ? 2 : 1;
    }
  };
}

/** The shape of a synthetic dataset, for `synth` and `demo` (which differ only in their defaults). */
function syntheticDatasetOptions(
  command: Command,
  defaults: { participants: string; videos: string; seconds: string; size: string },
): Command {
  return command
    .option("--participants <n>", "synthetic participants", defaults.participants)
    .option("--videos <n>", "videos per participant", defaults.videos)
    .option("--seconds <n>", "length of each video", defaults.seconds)
    .option("--size <WxH>", "video frame size", defaults.size)
    .option("--seed <n>", "seed of the synthetic dataset", "1");
}

/**
 * Flags of `runFlags` on a command, with the pipeline's defaults (or the command's own): every one
 * (`ingest`, `run`), or those setting the given payload fields (`demo`, `ecg`, `faces`, `rppg`).
 */
function runOptions(
  command: Command,
  fields?: string[],
  defaults: Record<string, number | string> = {},
): Command {
  for (const { flag, field, value, help } of runFlags) {
    if (fields && !fields.includes(field)) continue;
    const name = flag.split(" ")[0]!;
    const parse = value === "number" ? num(name) : value === "integer" ? int(name) : undefined;
    const fallback = defaults[field] ?? runFlagDefault(field);
    if (parse) command.option(flag, help, parse, fallback as number | undefined);
    else command.option(flag, help, fallback as string | undefined);
  }
  return command;
}

export function buildProgram(): Command {
  const program = new Command("hrpipe")
    .description(
      "Heart rate from facial video at dataset scale: BullMQ stage workers, S3 artifacts, CNN and rPPG reports.",
    )
    .version(version, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `\nEnvironment (README.md, Configuration):\n${wrap(configVariables.join(", "), 100)}`,
    );

  program
    .command("doctor")
    .description("check Redis, storage, ffmpeg, ONNX Runtime, the tfjs backend and the face models")
    .option("--json", "print one JSON object { ok, checks: [{ name, ok, required, detail }] }")
    .action(
      action(async (options: { json?: boolean }) => (await import("./commands/doctor.ts")).doctor(options)),
    );

  const demo = program
    .command("demo")
    .description(
      "the whole pipeline on this machine: private Redis, file storage, a synthetic dataset, every stage -> report",
    )
    .option("--redis <url>", "use this Redis instead of starting a private redis-server")
    .option("--storage <uri>", "file://dir or s3://bucket/prefix", "file://./.hrpipe");
  runOptions(
    syntheticDatasetOptions(demo, { participants: "4", videos: "2", seconds: "15", size: "320x240" }),
    ["cnn", "train.epochs", "features.fps"],
    { "features.fps": demoFeaturesFps },
  ).action(
    action(async (options: DemoCommandOptions) => (await import("./commands/demo.ts")).demoCommand(options)),
  );

  const synth = program
    .command("synth")
    .description("write a synthetic AMIGOS-layout dataset (face videos, ECG .mat files, ground truth)")
    .argument("<outUri>", "file://dir or s3://bucket/prefix");
  syntheticDatasetOptions(synth, { participants: "6", videos: "4", seconds: "30", size: "640x360" }).action(
    action(async (outUri: string, options: SynthCommandOptions) =>
      (await import("./commands/synth.ts")).synthCommand(outUri, options),
    ),
  );

  runOptions(
    program
      .command("ingest")
      .description(
        "enqueue a dataset ingest job (ecg, decode, face, train and eval follow); prints the run id",
      )
      .argument(
        "<dataset>",
        "a local folder (uploaded, content addressed), or a key prefix in STORAGE_URL or a URI inside it",
      )
      .option("--run-id <id>", "name the run (default: run-<timestamp>-<random>); an id in use is refused")
      .option("--resume", "continue the run of --run-id when its dataset and options are the same"),
  ).action(
    action(async (dataset: string, options: IngestCommandOptions) =>
      (await import("./commands/ingest.ts")).ingestCommand(dataset, options),
    ),
  );

  runOptions(
    program
      .command("run")
      .description(
        "the whole pipeline on this machine on a folder of your own (videos, UBFC-rPPG, a manifest.csv...): private Redis, file storage, every stage -> report.html and report.json in --out",
      )
      .argument("<folder>", "the dataset folder")
      .option(
        "-o, --out <dir>",
        "where report.html, report.json and the figures go (default: hrpipe-runs/<run id>); an earlier report of hrpipe's there is replaced, other files are never deleted",
      )
      .option("--force", forceHelp)
      .option("--redis <url>", "use this Redis instead of starting a private redis-server")
      .option("--storage <uri>", "file://dir or s3://bucket/prefix", "file://./.hrpipe"),
  ).action(
    action(async (folder: string, options: RunFolderOptions) =>
      (await import("./commands/run.ts")).runFolderCommand(folder, options),
    ),
  );

  program
    .command("worker")
    .description(`run stage workers until SIGTERM: ${stageNames.join(", ")}, or all`)
    .argument("<stages...>", "stage names, or all")
    .option(
      "--concurrency <n>",
      "jobs at once per stage (default HRPIPE_CONCURRENCY, else each stage's own)",
      (value) => wholeNumber("--concurrency", value),
    )
    .action(
      action(async (stages: string[], options: WorkerCommandOptions) =>
        (await import("./commands/worker.ts")).workerCommand(stages, options),
      ),
    );

  program
    .command("status")
    .description("queue depths per stage and state; with a run id, the run's progress and failures")
    .argument("[runId]", "a run id printed by hrpipe ingest")
    .option("--watch", "refresh until the run finishes")
    .option(
      "--json",
      "print one JSON object: queue counts and, for a run, jobs per stage (done, computed, reused, failed, pending)",
    )
    .option("--interval <seconds>", "refresh interval", "2")
    .action(
      action(async (runId: string | undefined, options: StatusCommandOptions) =>
        (await import("./commands/status.ts")).statusCommand(runId, options),
      ),
    );

  program
    .command("dashboard")
    .description(
      "bull-board for every stage queue and run pages with reports (behind basic auth off loopback); /metrics and /healthz without",
    )
    .option("--port <n>", "port", "3000")
    .option(
      "--host <host>",
      "interface; other than loopback needs HRPIPE_DASHBOARD_USER/PASSWORD",
      "127.0.0.1",
    )
    .option("--allow-writes", "let bull-board retry, promote and remove jobs")
    .action(
      action(async (options: DashboardCommandOptions) =>
        (await import("./commands/dashboard.ts")).dashboardCommand(options),
      ),
    );

  program
    .command("metrics")
    .description(
      "the queue exporter: every stage's backlog and job counts on /metrics (no credentials), /healthz; what the autoscaler reads",
    )
    .option("--port <n>", "port", (value) => wholeNumber("--port", value), 9464)
    .option("--host <host>", "interface", "127.0.0.1")
    .action(
      action(async (options: MetricsCommandOptions) =>
        (await import("./commands/metrics.ts")).metricsCommand(options),
      ),
    );

  const runs = program.command("runs").description("the runs in storage: list them, delete one");
  runs
    .command("list")
    .description("every run in STORAGE_URL, newest first: state, layout, videos, exclusions, report")
    .option("--json", "print one JSON object: runs[]")
    .action(
      action(async (options: RunsListOptions) =>
        (await import("./commands/runs.ts")).runsListCommand(options),
      ),
    );
  runs
    .command("delete")
    .description(
      "delete a finished run: its folder, the shard folders no other run uses, its jobs in Redis (uploaded datasets stay)",
    )
    .argument("<runId>")
    .option("--dry-run", "say what would be deleted, delete nothing")
    .option("--json", "print the plan (and whether it was carried out) as JSON")
    .action(
      action(async (runId: string, options: RunsDeleteOptions) =>
        (await import("./commands/runs.ts")).runsDeleteCommand(runId, options),
      ),
    );

  program
    .command("cancel")
    .description(
      "cancel a run: its queued jobs are removed, running ones finish, the manifest says cancelled",
    )
    .argument("<runId>")
    .action(action(async (runId: string) => (await import("./commands/status.ts")).cancelCommand(runId)));

  program
    .command("report")
    .description("print a run's metrics tables and per-video heart rates")
    .argument("<runId>")
    .option("--json", "print the run's report.json (README, Formats) instead")
    .action(
      action(async (runId: string, options: { json?: boolean }) =>
        (await import("./commands/report.ts")).reportCommand(runId, options),
      ),
    );

  program
    .command("artifacts")
    .description("download a run's reports and models from storage")
    .argument("<runId>")
    .requiredOption("-o, --out <dir>", "destination folder")
    .option("--force", forceHelp)
    .action(
      action(async (runId: string, options: ArtifactsCommandOptions) =>
        (await import("./commands/report.ts")).artifactsCommand(runId, options),
      ),
    );

  runOptions(
    program
      .command("ecg")
      .description(
        "label one participant's trials locally: R peaks and per-frame heart rate from an AMIGOS .mat file",
      )
      .argument("<matFile>", "Data_Preprocessed_Pxx.mat (MAT v5)")
      .requiredOption("-o, --out <dir>", "folder for <participant>_<videoId>.labels.json")
      .option("--force", forceHelp)
      .option("--participant <id>", "participant id, when the file name does not carry it"),
    ["labels.column", "labels.fps", "labels.windowS"],
  ).action(
    action(async (matFile: string, options: EcgCommandOptions) =>
      (await import("./commands/ecg.ts")).ecgCommand(matFile, options),
    ),
  );

  runOptions(
    program
      .command("faces")
      .description("decode and face-normalise one video locally: face and trace shards plus a contact sheet")
      .argument("<video>", "a video file (e.g. P01_4_face.mov)")
      .requiredOption(
        "-o, --out <dir>",
        "folder for faces/*.safetensors, traces/*.safetensors and contact-sheet.png",
      )
      .option("--force", forceHelp)
      .option(
        "--sample-fps <n>",
        "rate at which crops are sampled into the contact sheet (at most 60 tiles)",
        "1",
      )
      .option(
        "--detector <kind>",
        "tiny (TinyFaceDetector) or ssd (SSD MobileNet v1)",
        String(runFlagDefault("face.detector")),
      ),
    ["face.detectEvery", "face.skinArea", "face.analysisSide", "decode.segmentS"],
  ).action(
    action(async (video: string, options: FacesCommandOptions) =>
      (await import("./commands/faces.ts")).facesCommand(video, options),
    ),
  );

  runOptions(
    program
      .command("live")
      .description(
        "the heart rate of a camera (/dev/video0), a stream (rtsp://, http(s)://, HLS) or a file as it plays: one JSON line a second { tS, hrBpm, confidence, snrDb, lowQuality, rmssdMs, method, latencyS }",
      )
      .argument("<source>", "a V4L2 device, an RTSP/HTTP/HLS URL, or a video file")
      .option("--method <m>", `one of ${rppgMethods.join(", ")}`, "pos")
      .option("--realtime", "play a file at its own frame rate, as a camera would deliver it")
      .option("--loop", "play a file again from its start whenever it ends (with --duration for long runs)")
      .option(
        "--record <dir>",
        "keep every estimate (estimates.jsonl) and every frame's skin colour (trace.csv) there",
      )
      .option("--force", forceHelp)
      .option("--duration <seconds>", "stop after this many seconds of video", num("--duration"))
      .option("--size <WxH>", "frames are letterboxed to this size", "640x480")
      .option("--fps <n>", "frames per second the source is put on", num("--fps"), 30)
      .option(
        "--http <port>",
        "serve a page on 127.0.0.1:PORT (0: any free port) with the frame, face box, pulse and heart-rate trend, pushed by Server-Sent Events",
        int("--http"),
      ),
    ["eval.windowS", "face.skinArea", "face.detectEvery"],
  ).action(
    action(async (source: string, options: LiveCommandOptions) =>
      (await import("./commands/live.ts")).liveCommand(source, options),
    ),
  );

  runOptions(
    program
      .command("rppg")
      .description(
        "classical rPPG heart rate, per window and per recording, of one video, of every video of a dataset folder against its references (the pipeline's own stages in this process, no Redis: the same rates and references as hrpipe run), or of a mean-RGB trace (--rgb)",
      )
      .argument(
        "<input>",
        "a face video, a folder of videos or a dataset (report of every video), or with --rgb a CSV of time (or frame), R, G, B",
      )
      .requiredOption(
        "-o, --out <file.json>",
        "{ fps, durationS, methods: { <name>: { hrBpm, windows: [{ startS, endS, hrBpm, snrDb, confidence, lowQuality }] } } }",
      )
      .option("--method <m>", `all, or one of ${rppgMethods.join(", ")}`, "all")
      .option("--rgb", "the input is a CSV trace of mean colours, not a video")
      .option("--time-unit <unit>", "unit of the CSV's time column: ms or s", "ms")
      .option("--fps <hz>", "sampling rate of a CSV counted by frame", num("--fps"))
      .option("--signal", "add each method's pulse signal to the output")
      .option(
        "--hrv",
        "print each method's beats and heart-rate variability (mean IBI, SDNN, RMSSD, pNN50; the output holds them per recording and per 60 s either way)",
      )
      .option(
        "--harmonic-weight <w>",
        "harmonic check: add w x the power at twice each candidate rate (0: off, the default; see BENCHMARKS.md)",
        num("--harmonic-weight"),
        0,
      ),
    [
      "eval.windowS",
      "eval.strideS",
      "face.skinArea",
      "face.detectEvery",
      "face.analysisSide",
      "layout",
      "decode.segmentS",
      "labels.windowS",
      "labels.fps",
      "labels.offsetS",
      "ecgOffsetsS",
    ],
  ).action(
    action(async (input: string, options: RppgCommandOptions) =>
      (await import("./commands/rppg.ts")).rppgCommand(input, options),
    ),
  );

  const model = program
    .command("model")
    .description(
      "networks: import a PyTorch rPPG checkpoint (PhysNet), list and run imported ones; the DenseNet backbone's weights and features",
    );
  model
    .command("import")
    .description(
      "read a PyTorch checkpoint (torch.save state_dict) without Python, check it tensor by tensor, build its ONNX graph and store both by content",
    )
    .argument(
      "<file.pth>",
      "the checkpoint, e.g. rPPG-Toolbox's PURE_PhysNet_DiffNormalized.pth or PURE_FactorizePhys_FSAM_Res.pth",
    )
    .requiredOption("--arch <name>", `its architecture: ${neuralArchitectures.join(" or ")}`)
    .option("--name <name>", "the name --model and --neural take (default: from the file name)")
    .option("--trained-on <data>", "what the weights were trained on, for the reports (e.g. PURE, SCAMPS)")
    .option("--storage <uri>", "file://dir or s3://bucket/prefix (default: STORAGE_URL)")
    .action(
      action(async (file: string, options: ModelImportOptions) =>
        (await import("./commands/neural.ts")).modelImportCommand(file, options),
      ),
    );
  model
    .command("list")
    .description("the imported networks: name, architecture, what they were trained on, where from")
    .option("--json", "as JSON")
    .option("--storage <uri>", "file://dir or s3://bucket/prefix (default: STORAGE_URL)")
    .action(
      action(async (options: ModelStorageOptions & { json?: boolean }) =>
        (await import("./commands/neural.ts")).modelListCommand(options),
      ),
    );
  model
    .command("run")
    .description("run an imported network on a tensor file: input F32 [N,3,T,H,W] to output F32 [N,T]")
    .requiredOption("--model <name>", "an imported network's name (hrpipe model list)")
    .requiredOption("--input <st>", "safetensors with input F32 [N,3,T,H,W] at the model's clip size")
    .requiredOption("--out <st>", "safetensors with output F32 [N,T]")
    .option("--storage <uri>", "file://dir or s3://bucket/prefix (default: STORAGE_URL)")
    .action(
      action(async (options: ModelRunOptions) =>
        (await import("./commands/neural.ts")).modelRunCommand(options),
      ),
    );
  model
    .command("fetch-weights")
    .description("download timm/densenet161.tv_in1k (torchvision ImageNet weights) from the Hugging Face hub")
    .option("-o, --out <file>", "destination", "densenet161.tv_in1k.safetensors")
    .action(
      action(async (options: FetchWeightsOptions) =>
        (await import("./commands/model.ts")).fetchWeightsCommand(options),
      ),
    );
  model
    .command("embed")
    .description("DenseNet features (after norm5, ReLU, global average pool) for images U8 [N,H,W,3]")
    .requiredOption("--images <st>", "safetensors with images U8 [N,H,W,3] RGB")
    .requiredOption("--out <st>", "safetensors with features F32 [N,C]")
    .option("--weights <st>", "torchvision/timm-named weights; random initialisation without")
    .option("--arch <name|config.json>", "densenet161, or a torchvision DenseNet config", "densenet161")
    .option("--batch <n>", "images per ONNX Runtime call", "16")
    .action(
      action(async (options: EmbedOptions) => (await import("./commands/model.ts")).embedCommand(options)),
    );

  return program;
}

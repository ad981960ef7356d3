import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { doctor } from "./commands/doctor.ts";
import { type EcgCommandOptions, ecgCommand } from "./commands/ecg.ts";
import { type FacesCommandOptions, facesCommand } from "./commands/faces.ts";
import { UserError } from "./output.ts";

const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** Runs a command's action and turns its outcome into an exit code; expected failures print one line. */
function action<A extends unknown[]>(run: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? 0;
    } catch (error) {
      if (process.env.HRPIPE_DEBUG === "1" || !(error instanceof Error)) console.error(error);
      else console.error(`hrpipe: ${error.message}`);
      process.exitCode = error instanceof UserError ? 2 : 1;
    }
  };
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
      "\nEnvironment: REDIS_URL, STORAGE_URL (file://dir or s3://bucket/prefix), S3_ENDPOINT, S3_REGION,\n" +
        "S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE, HRPIPE_QUEUE_PREFIX, LOG_LEVEL.",
    );

  program
    .command("doctor")
    .description("check Redis, storage, ffmpeg, ONNX Runtime, the tfjs backend and the face models")
    .option("--json", "print one JSON object { ok, checks: [{ name, ok, required, detail }] }")
    .action(action((options: { json?: boolean }) => doctor(options)));

  program
    .command("ecg")
    .description(
      "label one participant's trials locally: R peaks and per-frame heart rate from an AMIGOS .mat file",
    )
    .argument("<matFile>", "Data_Preprocessed_Pxx.mat (MAT v5)")
    .requiredOption("-o, --out <dir>", "folder for <participant>_<videoId>.labels.json")
    .option("--column <n>", "joined_data column with the ECG lead (14 right, 15 left)", "15")
    .option("--fps <n>", "video frame rate the labels are computed for", "25")
    .option("--window <seconds>", "heart-rate window centred on each frame (the original study: 24)", "10")
    .option("--participant <id>", "participant id, when the file name does not carry it")
    .action(action((matFile: string, options: EcgCommandOptions) => ecgCommand(matFile, options)));

  program
    .command("faces")
    .description("decode and face-normalise one video locally: face and trace shards plus a contact sheet")
    .argument("<video>", "a video file (e.g. P01_4_face.mov)")
    .requiredOption(
      "-o, --out <dir>",
      "folder for faces/*.safetensors, traces/*.safetensors and contact-sheet.png",
    )
    .option(
      "--sample-fps <n>",
      "rate at which crops are sampled into the contact sheet (at most 60 tiles)",
      "1",
    )
    .option("--detector <kind>", "tiny (TinyFaceDetector) or ssd (SSD MobileNet v1)", "tiny")
    .option("--detect-every <k>", "run the detector every k frames and track in between", "8")
    .option("--segment <seconds>", "frames per shard, in seconds", "10")
    .action(action((video: string, options: FacesCommandOptions) => facesCommand(video, options)));

  return program;
}

try {
  await buildProgram().exitOverride().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else throw error;
}

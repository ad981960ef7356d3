import { datasetLayoutNames, ingestPayloadSchema } from "./payloads.ts";

/**
 * Every option of a run, declared once: the command-line flag, the ingest payload field it sets (a
 * dotted path), how its value is read and what it means. `hrpipe run` and `hrpipe ingest` derive their
 * flags, help and parsing from this table (and `hrpipe ecg` and `hrpipe rppg` the flags they share
 * with a run), and the payload schema checks the values (its defaults are the flags' defaults); a test
 * fails when a payload field has no flag here and no reason below. A flag means one thing in every
 * command: `--window`/`--stride` the estimators' window, `--label-window`/`--label-fps` the labels'.
 */
export interface RunFlag {
  flag: string;
  field: string;
  /** number, whole number, text, or a comma-separated list. */
  value: "number" | "integer" | "text" | "list";
  help: string;
}

export const runFlags: readonly RunFlag[] = [
  {
    flag: "--layout <name>",
    field: "layout",
    value: "text",
    help: `dataset layout: ${datasetLayoutNames.join(", ")} (auto: AMIGOS's files, else detected)`,
  },
  { flag: "--protocols <list>", field: "protocols", value: "list", help: "comma-separated" },
  {
    flag: "--cross-dataset <run[:protocol]>",
    field: "trainedOn",
    value: "text",
    help: "test what that run trained (default protocol unseen-participants) on this dataset instead of training here: its CNN head (--cnn densenet) and its fine-tuned networks (--neural)",
  },
  {
    flag: "--segment <seconds>",
    field: "decode.segmentS",
    value: "number",
    help: "video segment per face job",
  },
  {
    flag: "--column <n>",
    field: "labels.column",
    value: "integer",
    help: "joined_data ECG column (14 right, 15 left)",
  },
  {
    flag: "--label-window <seconds>",
    field: "labels.windowS",
    value: "number",
    help: "reference heart-rate window centred on each labelled frame (the study: 24)",
  },
  {
    flag: "--label-fps <n>",
    field: "labels.fps",
    value: "number",
    help: "frames per second the labels are computed for (AMIGOS's videos: 25)",
  },
  {
    flag: "--ecg-offset <seconds>",
    field: "labels.offsetS",
    value: "number",
    help: "seconds added to every reference time to put it on the video's clock",
  },
  {
    flag: "--ecg-offsets <file>",
    field: "ecgOffsetsS",
    value: "text",
    help: "a CSV of participant,offset_s: those participants' own offsets in place of --ecg-offset",
  },
  {
    flag: "--detect-every <k>",
    field: "face.detectEvery",
    value: "integer",
    help: "face detection every k frames, tracking in between (1: every frame, as the study)",
  },
  {
    flag: "--analysis-side <px>",
    field: "face.analysisSide",
    value: "integer",
    help: "analyse larger videos at an integer fraction of their size with at least this longer side (0: as stored)",
  },
  {
    flag: "--skin-area <where>",
    field: "face.skinArea",
    value: "text",
    help: "where rPPG measures skin: landmarks (68-point skin area), box (face-box ellipse, about 3x faster) or whole-frame (a video that is all skin patch)",
  },
  {
    flag: "--cnn <model>",
    field: "cnn",
    value: "text",
    help: "the study's per-frame CNN: densenet (DenseNet-161 features of every face and a trained head; it learns little without ImageNet weights in HRPIPE_DENSENET_WEIGHTS) or none",
  },
  {
    flag: "--neural <list>",
    field: "neural",
    value: "list",
    help: "imported networks (hrpipe model list) to run over every video's faces, fine-tune per protocol (<name>-ft) and score beside the methods, comma-separated",
  },
  {
    flag: "--features-fps <n>",
    field: "features.fps",
    value: "number",
    help: "embed at most n face frames per second of video for the CNN (unset: every frame, as the study)",
  },
  {
    flag: "--features-dtype <type>",
    field: "features.dtype",
    value: "text",
    help: "how embeddings are stored: float32, or float16 (half the bytes)",
  },
  { flag: "--epochs <n>", field: "train.epochs", value: "integer", help: "head training epochs" },
  {
    flag: "--learning-rate <x>",
    field: "train.learningRate",
    value: "number",
    help: "head learning rate (Adam)",
  },
  {
    flag: "--window <seconds>",
    field: "eval.windowS",
    value: "number",
    help: "the window every estimator's heart rate is measured and scored on",
  },
  {
    flag: "--stride <seconds>",
    field: "eval.strideS",
    value: "number",
    help: "step between windows",
  },
];

/** Ingest payload fields no run flag sets, and why. */
export const runFieldsWithoutFlag: Readonly<Record<string, string>> = {
  runId: "named by --run-id or made by the command",
  step: "the ingest job's own progress (plan, then gather)",
  datasetPrefix: "the command's dataset argument",
  "face.detector": "the study's tiny detector; ssd is for benchmarks",
  "face.inputSize": "fixed at 320, which finds faces of 40+ px in 720p frames",
  "face.landmarkEvery": "a speed setting chosen on the development videos (BENCHMARKS.md)",
  "face.cropSize": "the study's 128 x 128 crops",
  "face.keepChunks": "for debugging a decode; chunks are transient",
  "face.crops": "set by the run: kept where --neural or --cnn reads them",
  "train.batchSize": "the study's 32",
  "train.validationSplit": "the study's 80/20 split",
  "train.seed": "fixed, so that a run is reproducible",
};

/** The flag that sets a payload field (dotted path), for errors that name what the user typed. */
export function flagOfField(field: string): string | undefined {
  return runFlags.find((declared) => declared.field === field)?.flag.split(" ")[0];
}

/** The pipeline's option defaults, from the payload schema: flags, --help and README show these. */
const runDefaults = ingestPayloadSchema.parse({ runId: "defaults", datasetPrefix: "" });

/** A run option's default as its flag shows it: the payload schema's default at the flag's field. */
export function runFlagDefault(field: string): string | number | undefined {
  const value = field
    .split(".")
    .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], runDefaults);
  // An empty list is no default: the flag is unset unless given.
  if (Array.isArray(value)) return value.length > 0 ? value.join(",") : undefined;
  return typeof value === "number" || typeof value === "string" ? value : undefined;
}

/** README's table of run options, rendered from the declarations (a unit test keeps the two identical). */
export function runFlagsTable(): string {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  return [
    "| flag | default | payload field | meaning |",
    "| --- | --- | --- | --- |",
    ...runFlags.map(({ flag, field, help }) => {
      const fallback = runFlagDefault(field);
      return `| \`${cell(flag)}\` | ${fallback === undefined ? "—" : `\`${cell(String(fallback))}\``} | \`${field}\` | ${cell(help)} |`;
    }),
  ].join("\n");
}

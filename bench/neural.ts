import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BenchResult, type BenchRow, machineDescription } from "./report.ts";

const bin = path.join(import.meta.dirname, "..", "apps", "cli", "bin", "hrpipe.js");
const shared = path.resolve(import.meta.dirname, "../../shared");
const subjects = ["subject3", "subject4", "subject5", "subject8", "subject9", "subject10", "subject11"];
/** rPPG-Toolbox's released PhysNet checkpoints, as `hrpipe model import` names them here. */
const networks = [
  { name: "physnet-pure", file: "PURE_PhysNet_DiffNormalized", trainedOn: "PURE" },
  { name: "physnet-scamps", file: "SCAMPS_PhysNet_DiffNormalized", trainedOn: "SCAMPS" },
];

interface ToolboxIndex {
  subjects: Record<string, { referenceHrBpm: number; checkpoints: Record<string, { hrBpm: number }> }>;
}

function hrpipe(args: string[], env: NodeJS.ProcessEnv): void {
  const child = spawnSync(process.execPath, [bin, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  if (child.status !== 0) throw new Error(`hrpipe ${args.join(" ")} exited ${child.status}: ${child.stderr}`);
}

const mae = (errors: number[]) => errors.reduce((sum, e) => sum + e, 0) / errors.length;

/**
 * The imported PhysNet checkpoints on hrpipe's own crops of the UBFC-rPPG development videos, as a user
 * runs them (`hrpipe model import`, then `hrpipe rppg VIDEO --method all`), against rPPG-Toolbox's
 * references, beside POS and CHROM from the same runs and the toolbox's own pipeline with the same
 * weights on the same files (its index.json). No fine-tuning.
 */
export async function benchNeural(): Promise<BenchResult> {
  const index = JSON.parse(
    await readFile(path.join(shared, "fixtures/rppg-toolbox-neural/index.json"), "utf8"),
  ) as ToolboxIndex;
  const store = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-neural-"));
  const env = { ...process.env, STORAGE_URL: `file://${store}`, LOG_LEVEL: "error" };
  const scored = ["pos", "chrom", ...networks.map((n) => n.name)];
  const errors: Record<string, number[]> = Object.fromEntries(scored.map((name) => [name, []]));
  const toolbox: Record<string, number[]> = Object.fromEntries(networks.map((n) => [n.name, []]));
  let frames = 0;
  const started = performance.now();
  try {
    for (const network of networks)
      hrpipe(
        [
          ...["model", "import", path.join(shared, "models/rppg-toolbox", `${network.file}.pth`)],
          ...["--arch", "physnet", "--name", network.name, "--trained-on", network.trainedOn],
        ],
        env,
      );
    for (const subject of subjects) {
      const out = path.join(store, `${subject}.json`);
      hrpipe(["rppg", path.join(shared, "data/ubfc-rppg-dev", subject, "vid.mp4"), "--out", out], env);
      const report = JSON.parse(await readFile(out, "utf8")) as {
        fps: number;
        durationS: number;
        methods: Record<string, { hrBpm: number | null }>;
      };
      frames += Math.round(report.fps * report.durationS);
      const { referenceHrBpm, checkpoints } = index.subjects[subject]!;
      for (const name of scored)
        errors[name]!.push(Math.abs((report.methods[name]?.hrBpm ?? Number.NaN) - referenceHrBpm));
      for (const network of networks)
        toolbox[network.name]!.push(Math.abs(checkpoints[network.file]!.hrBpm - referenceHrBpm));
    }
  } finally {
    await rm(store, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const rows: BenchRow[] = [
    ...networks.map(
      (network): BenchRow => ({
        metric: `${network.name} (imported, trained on ${network.trainedOn}) per-video MAE on hrpipe's crops`,
        value: mae(errors[network.name]!),
        unit: "bpm",
        reference: {
          what: "rPPG-Toolbox's pipeline, same weights and files",
          value: mae(toolbox[network.name]!),
        },
      }),
    ),
    { metric: "POS per-video MAE, same runs", value: mae(errors.pos!), unit: "bpm" },
    { metric: "CHROM per-video MAE, same runs", value: mae(errors.chrom!), unit: "bpm" },
    {
      metric: "hrpipe rppg --method all (decode, faces, 7 methods, 2 networks), wall",
      value: frames / seconds,
      unit: "frames/s",
    },
  ];
  return {
    name: "neural",
    title: "Imported PhysNet checkpoints on the UBFC-rPPG development videos",
    method:
      "`pnpm bench neural`: rPPG-Toolbox's PURE and SCAMPS PhysNet checkpoints imported with `hrpipe model import`, then `hrpipe rppg ../shared/data/ubfc-rppg-dev/<subject>/vid.mp4 --method all` on the 7 development videos (default options; every frame's landmark skin area for the methods, the face crops resized to 72x72 for the networks). Whole-video heart rate against rPPG-Toolbox's reference in ../shared/fixtures/rppg-toolbox-neural/index.json; the reference column is the toolbox's own pipeline with the same weights on the same files, from that index. Imported networks only: nothing is fine-tuned. The wall rate includes the model store and process start-ups.",
    rows,
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}

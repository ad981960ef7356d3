import { benchEcg } from "./ecg.ts";
import { benchDecode, benchFace } from "./media.ts";
import { benchModel } from "./model.ts";
import { type BenchResult, saveResult } from "./report.ts";
import { benchRppg } from "./rppg.ts";
import { benchScaling } from "./scaling.ts";

const benches: Record<string, () => Promise<BenchResult>> = {
  ecg: benchEcg,
  decode: benchDecode,
  face: benchFace,
  model: benchModel,
  rppg: benchRppg,
  scaling: benchScaling,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(
    `bench: unknown benchmark ${unknown.join(", ")}; choose from ${Object.keys(benches).join(", ")}.`,
  );
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  console.error(`bench: running ${name}...`);
  const result = await benches[name]!();
  saveResult(result);
  for (const row of result.rows) {
    console.log(
      `${result.title}: ${row.metric} = ${row.value.toFixed(1)} ${row.unit}${row.target ? ` (target ${row.target}: ${row.met ? "met" : "NOT met"})` : ""}`,
    );
  }
}
console.error("bench: BENCHMARKS.md updated");

import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { benchCliStartup } from "./cli-startup.ts";
import { benchEcg } from "./ecg.ts";
import { benchHrv } from "./hrv.ts";
import { benchLive } from "./live.ts";
import { benchLiveMemory } from "./live-memory.ts";
import { benchLocalRppg } from "./local-rppg.ts";
import { benchLongVideo } from "./long-video.ts";
import { benchDecode, benchFace } from "./media.ts";
import { benchModel } from "./model.ts";
import { benchNeural } from "./neural.ts";
import { benchPpg } from "./ppg.ts";
import { type BenchResult, saveResult } from "./report.ts";
import { benchResample } from "./resample.ts";
import { benchRppg } from "./rppg.ts";
import { benchRppgReal } from "./rppg-real.ts";
import { benchScaling } from "./scaling.ts";
import { benchUbfcClock } from "./ubfc-clock.ts";

const benches: Record<string, () => Promise<BenchResult>> = {
  "cli-startup": benchCliStartup,
  ecg: benchEcg,
  decode: benchDecode,
  face: benchFace,
  hrv: benchHrv,
  live: benchLive,
  "live-memory": benchLiveMemory,
  "local-rppg": benchLocalRppg,
  "long-video": benchLongVideo,
  model: benchModel,
  neural: benchNeural,
  ppg: benchPpg,
  resample: benchResample,
  rppg: benchRppg,
  "rppg-real": benchRppgReal,
  scaling: benchScaling,
  "ubfc-clock": benchUbfcClock,
};

/** Benchmarks whose target is per core: run pinned to core 0 (ffmpeg children included) with taskset. */
const oneCore = new Set(["face", "rppg-real"]);

/** Runs a one-core benchmark in a child process pinned by taskset; false when taskset is missing. */
function runPinned(name: string): boolean {
  const child = spawnSync(
    "taskset",
    ["-c", "0", process.execPath, ...process.execArgv, import.meta.filename, name],
    {
      stdio: "inherit",
    },
  );
  if (child.error) {
    console.error(`bench: taskset is not available (${child.error.message}); ${name} runs on every core.`);
    return false;
  }
  if (child.status !== 0) process.exit(child.status ?? 1);
  return true;
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(
    `bench: unknown benchmark ${unknown.join(", ")}; choose from ${Object.keys(benches).join(", ")}.`,
  );
  process.exit(2);
}
/** Benchmarks that take an hour: run only when named. */
const onlyWhenNamed = new Set(["live-memory"]);
for (const name of wanted.length > 0 ? wanted : Object.keys(benches).filter((n) => !onlyWhenNamed.has(n))) {
  if (oneCore.has(name) && availableParallelism() > 1 && runPinned(name)) continue;
  console.error(`bench: running ${name}${availableParallelism() === 1 ? " on one core" : ""}...`);
  const result = await benches[name]!();
  saveResult(result);
  for (const row of result.rows) {
    console.log(
      `${result.title}: ${row.metric} = ${row.value.toFixed(1)} ${row.unit}${row.target ? ` (target ${row.target}: ${row.met ? "met" : "NOT met"})` : ""}`,
    );
  }
}
console.error("bench: BENCHMARKS.md updated");

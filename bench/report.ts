import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** One measured quantity, next to the reference measured in the same run where there is one. */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  reference?: { what: string; value: number };
  target?: string;
  /** Whether the target is met, when there is one. */
  met?: boolean;
}

export interface BenchResult {
  name: string;
  title: string;
  method: string;
  rows: BenchRow[];
  measuredAt: string;
  machine: string;
}

const resultsDir = path.join(import.meta.dirname, "results");
const benchmarksFile = path.join(import.meta.dirname, "..", "BENCHMARKS.md");

export function machineDescription(): string {
  const cores = os.cpus().length;
  const usable = os.availableParallelism();
  const pinned = usable < cores ? `, pinned to ${usable} of the ${cores} cores` : "";
  return `${cores} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}${pinned}`;
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toPrecision(3);
}

/** Saves one benchmark's result and regenerates BENCHMARKS.md from every saved result. */
export function saveResult(result: BenchResult): void {
  writeFileSync(path.join(resultsDir, `${result.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const results = readdirSync(resultsDir)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => JSON.parse(readFileSync(path.join(resultsDir, file), "utf8")) as BenchResult);
  const sections = results.map((r) => {
    const rows = r.rows.map((row) =>
      [
        row.metric,
        `${formatNumber(row.value)} ${row.unit}`,
        row.reference ? `${formatNumber(row.reference.value)} ${row.unit} (${row.reference.what})` : "-",
        row.reference ? `${(row.value / row.reference.value).toFixed(2)}x` : "-",
        row.target ?? "-",
        row.met === undefined ? "-" : row.met ? "met" : "NOT met",
      ].join(" | "),
    );
    return [
      `## ${r.title}`,
      "",
      r.method,
      "",
      `Measured ${r.measuredAt} on ${r.machine}.`,
      "",
      "| metric | value | reference (same run) | ratio | target | |",
      "| --- | --- | --- | --- | --- | --- |",
      ...rows.map((row) => `| ${row} |`),
      "",
    ].join("\n");
  });
  const header =
    "# Benchmarks\n\nWritten by `pnpm bench` (bench/run.ts) from bench/results/*.json; do not edit by hand.\n\n";
  writeFileSync(benchmarksFile, header + sections.join("\n"));
}

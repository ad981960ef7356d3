import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { type RunProgress, runProgress, type StageQueues, type Storage } from "@hrpipe/runtime";

const bin = path.resolve(import.meta.dirname, "../../apps/cli/bin/hrpipe.js");

/** A long-running `hrpipe ...` child process (workers, dashboard), its output kept for error messages. */
export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startWorkerProcess(stages: string[], env: Record<string, string>): WorkerProcess {
  return startHrpipe(["worker", ...stages], env);
}

export function startHrpipe(args: string[], env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitUntil<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Waits until a run reaches its final state (done, failed or cancelled) and, unless cancelled, its
 * report job has retired its jobs from Redis (retireRun), and returns its progress.
 */
export async function waitForRun(
  queues: StageQueues,
  storage: Storage,
  runId: string,
  timeoutMs: number,
): Promise<RunProgress> {
  let last: RunProgress | undefined;
  try {
    return await waitUntil(
      async () => {
        last = await runProgress(queues, storage, runId);
        const retired = last.manifest?.jobs || last.manifest?.state === "cancelled";
        return last.finished && retired ? last : undefined;
      },
      `run ${runId} to end`,
      timeoutMs,
      500,
    );
  } catch (error) {
    // Where the run stood when the wait gave up: its state and every stage's counters.
    const where = last && {
      state: last.manifest?.state,
      finished: last.finished,
      retired: Boolean(last.manifest?.jobs),
      stages: last.stages,
      failures: last.failures,
    };
    throw new Error(`${(error as Error).message}; the run stood at ${JSON.stringify(where)}`);
  }
}

/** Whether a program is on the PATH (suites that need one run only where it is). */
export function onPath(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`]).status === 0;
}

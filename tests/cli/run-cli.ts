import { spawn } from "node:child_process";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
const bin = path.join(repoRoot, "apps/cli/bin/hrpipe.js");

export interface CliResult {
  /** The exit code, or -1 where a signal ended the process. */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the `hrpipe` binary as a user would, in a child process with the given environment. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd = repoRoot,
  binPath = bin,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
}

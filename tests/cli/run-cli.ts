import { spawn } from "node:child_process";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
const bin = path.join(repoRoot, "apps/cli/bin/hrpipe.js");

export interface CliResult {
  code: number;
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
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

import { spawnSync } from "node:child_process";

/** A command's wall and CPU seconds (its children's included), by GNU time. */
export function timed(command: string[]): { stdout: string; wallS: number; cpuS: number } {
  const child = spawnSync("/usr/bin/time", ["-f", "time %e %U %S", ...command], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`${command.join(" ")} exited ${child.status}: ${child.stderr}`);
  const [, wall, user, system] = /time ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(child.stderr)!;
  return { stdout: child.stdout, wallS: Number(wall), cpuS: Number(user) + Number(system) };
}

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

const scratchPattern = /^hrpipe-([a-z]+)-(\d+)-/;

/**
 * A private temporary folder for one piece of work, named after this process (`hrpipe-<kind>-<pid>-…`)
 * so that a later worker can tell whether its owner is still alive; the caller removes it when done.
 */
export function scratchDir(kind: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `hrpipe-${kind}-${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * At a worker's start: sweeps the scratch folders of dead workers in the background, logging what it
 * removed (the face and decode stages make scratch folders).
 */
export function sweepStaleScratchDirsAtStart(logger: {
  info(bindings: object, message: string): void;
}): void {
  void sweepStaleScratchDirs().then((removed) => {
    if (removed.length > 0) logger.info({ removed }, "removed scratch folders of workers that no longer run");
  });
}

/**
 * Removes the scratch folders of hrpipe processes that no longer run (a worker killed with SIGKILL
 * cannot clean up after itself). Folders of live processes are left alone. Returns what was removed.
 */
export async function sweepStaleScratchDirs(dir = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = scratchPattern.exec(name);
    if (!match || alive(Number(match[2]))) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

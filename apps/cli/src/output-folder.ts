import { lstat, mkdir, readdir, readFile, rmdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "./output.ts";

/** The file by which hrpipe knows a folder as its own, listing every file it wrote there. */
export const outputMarkerName = ".hrpipe-output.json";

interface OutputMarker {
  command: string;
  writtenAt: string;
  files: string[];
}

export interface OutputFolderOptions {
  /** The command writing, recorded in the marker (`run`, `artifacts`, ...). */
  command: string;
  /** Write into a non-empty folder hrpipe did not make; nothing in it is deleted. */
  force?: boolean;
}

/** A marker's file list is trusted only where every entry stays inside the folder. */
function insideFolder(relative: string): boolean {
  return (
    relative.length > 0 &&
    !path.isAbsolute(relative) &&
    !relative.split(/[\\/]/).some((part) => part === ".." || part === "")
  );
}

async function readMarker(dir: string): Promise<OutputMarker | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, outputMarkerName), "utf8");
  } catch {
    return undefined;
  }
  try {
    const marker = JSON.parse(text) as OutputMarker;
    if (!Array.isArray(marker.files)) return undefined;
    return { ...marker, files: marker.files.filter((f) => typeof f === "string" && insideFolder(f)) };
  } catch {
    return undefined;
  }
}

/**
 * A folder a command writes its results into, under one rule: hrpipe never deletes what it did not
 * write. A new or empty folder is taken; a folder carrying hrpipe's marker is taken, and the files
 * its earlier output listed are replaced (those not written again are removed); any other non-empty
 * folder is refused unless `force`, which writes beside the files already there and deletes none.
 */
export class OutputFolder {
  private readonly written = new Set<string>();

  private constructor(
    readonly dir: string,
    private readonly command: string,
    private readonly earlier: readonly string[],
  ) {}

  static async open(dir: string, options: OutputFolderOptions): Promise<OutputFolder> {
    const stats = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw new UserError(`cannot open --out ${dir}: ${error.code ?? error.message}.`);
    });
    if (stats && !stats.isDirectory())
      throw new UserError(`--out ${dir} is a file, not a folder; pass a folder path for the results.`);
    if (!stats) {
      await mkdir(dir, { recursive: true });
      return new OutputFolder(dir, options.command, []);
    }
    const marker = await readMarker(dir);
    if (marker) return new OutputFolder(dir, options.command, marker.files);
    const entries = await readdir(dir);
    if (entries.length > 0 && !options.force)
      throw new UserError(
        `--out ${dir} already holds files hrpipe did not write (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}); pass a new or empty folder, or --force to write beside them (nothing there is deleted).`,
      );
    return new OutputFolder(dir, options.command, []);
  }

  /** The path to write `relative` to (its folder made); the file becomes part of hrpipe's output. */
  async file(relative: string): Promise<string> {
    if (!insideFolder(relative)) throw new Error(`output file ${relative} is not inside ${this.dir}`);
    const target = path.join(this.dir, relative);
    await mkdir(path.dirname(target), { recursive: true });
    this.written.add(relative.split(path.sep).join("/"));
    return target;
  }

  /**
   * Records what was written in the marker and removes the files of hrpipe's earlier output that
   * were not written again (and the folders they leave empty); nothing else is touched.
   */
  async finish(): Promise<void> {
    for (const stale of this.earlier) {
      if (this.written.has(stale)) continue;
      const target = path.join(this.dir, stale);
      const stats = await lstat(target).catch(() => undefined);
      if (!stats?.isFile()) continue;
      await unlink(target);
      for (
        let dir = path.dirname(target);
        dir !== this.dir && dir.startsWith(this.dir);
        dir = path.dirname(dir)
      )
        if (
          !(await rmdir(dir)
            .then(() => true)
            .catch(() => false))
        )
          break;
    }
    const marker: OutputMarker = {
      command: this.command,
      writtenAt: new Date().toISOString(),
      files: [...this.written].sort(),
    };
    await writeFile(path.join(this.dir, outputMarkerName), `${JSON.stringify(marker, null, 2)}\n`);
  }
}

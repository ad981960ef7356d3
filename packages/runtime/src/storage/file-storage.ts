import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { safeKey } from "@hrpipe/contracts";
import { checkBlob, checkBlobStream } from "./blob-check.ts";
import { ArtifactNotFoundError, type ObjectInfo, type Storage } from "./storage.ts";

const tempMarker = ".hrpipe-tmp-";

/** Storage in a local folder; atomic writes go to a temporary sibling and are renamed into place. */
export class FileStorage implements Storage {
  readonly url: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...safeKey(key).split("/"));
  }

  private async atomically(key: string, writeTemp: (tempPath: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}${tempMarker}${randomBytes(6).toString("hex")}`;
    try {
      await writeTemp(temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  put(key: string, body: Uint8Array | string): Promise<void> {
    return this.atomically(key, (temp) => writeFile(temp, body));
  }

  write(key: string, body: Readable): Promise<void> {
    return this.atomically(key, (temp) => pipeline(body, createWriteStream(temp)));
  }

  async get(key: string): Promise<Buffer> {
    try {
      return checkBlob(this.url, key, await readFile(this.pathOf(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ArtifactNotFoundError(this.url, key);
      throw error;
    }
  }

  async read(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    if (!(await this.exists(key))) throw new ArtifactNotFoundError(this.url, key);
    return checkBlobStream(this.url, key, createReadStream(file));
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf("/");
    const folder = slash >= 0 ? prefix.slice(0, slash) : "";
    const start = folder === "" ? this.root : this.pathOf(folder);
    const found: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const key = keyPrefix === "" ? entry.name : `${keyPrefix}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`))
            await walk(path.join(dir, entry.name), key);
        } else if (entry.isFile() && !entry.name.includes(tempMarker) && key.startsWith(prefix)) {
          found.push({ key, size: (await stat(path.join(dir, entry.name))).size });
        }
      }
    };
    await walk(start, folder);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(folder: string): Promise<string[]> {
    const trimmed = folder.replace(/\/+$/, "");
    try {
      const entries = await readdir(trimmed === "" ? this.root : this.pathOf(trimmed), {
        withFileTypes: true,
      });
      return entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
    } catch {
      return [];
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {}
}

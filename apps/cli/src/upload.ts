import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { contentHash, type DatasetIndex, datasetIndexSchema, uploadKeys } from "@hrpipe/contracts";
import { BlobMismatchError, checkBlobStream, type Storage, writeArtifact } from "@hrpipe/runtime";
import { ProgressLine, UserError } from "./output.ts";

export interface UploadOutcome {
  /** Where the dataset now is in storage: ingest it by this prefix. */
  datasetPrefix: string;
  files: number;
  bytes: number;
  /** Files and bytes this upload stored; 0 when every blob was already there. */
  uploadedFiles: number;
  uploadedBytes: number;
}

/** Files whose names say they are nobody's data: the OS's and editors' droppings. */
const junk = /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini|\._[^/]*)$/;

interface FolderListing {
  files: { path: string; file: string }[];
  /** Entries left out, with why: every entry of the folder is uploaded or listed here. */
  skipped: { path: string; reason: string }[];
}

async function listFiles(root: string): Promise<FolderListing> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((error: Error) => {
    throw new UserError(`cannot read the folder ${root} (${error.message}); check the path.`);
  });
  const listing: FolderListing = { files: [], skipped: [] };
  for (const entry of entries) {
    if (entry.isDirectory()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const relative = path.relative(root, file).split(path.sep).join("/");
    const reason = entry.isSymbolicLink()
      ? "a symbolic link: hrpipe uploads the folder's own files only; copy the file in to use it"
      : !entry.isFile()
        ? "not a regular file (a socket, a pipe or a device)"
        : junk.test(relative)
          ? "an operating system's or editor's file, not data"
          : relative.split("/").some((part) => part.startsWith("."))
            ? "hidden (its name, or a folder's, starts with '.')"
            : undefined;
    if (reason) listing.skipped.push({ path: relative, reason });
    else listing.files.push({ file, path: relative });
  }
  listing.files.sort((a, b) => a.path.localeCompare(b.path));
  listing.skipped.sort((a, b) => a.path.localeCompare(b.path));
  return listing;
}

async function sha256OfFile(file: string, onBytes: (n: number) => void): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    onBytes((chunk as Buffer).length);
  }
  return hash.digest("hex");
}

/**
 * Stores a file as blobs/<sha256> and hashes the bytes that went up: a file that changed after it was
 * hashed would be stored under a name that is not its content, so that blob is removed and the upload
 * refused.
 */
async function storeBlob(storage: Storage, file: string, relative: string, sha256: string): Promise<void> {
  const key = uploadKeys.blob(sha256);
  try {
    // The bytes are checked against the hash the file had when it was listed as they go up.
    await storage.write(key, checkBlobStream(storage.url, key, createReadStream(file)));
  } catch (error) {
    if (!(error instanceof BlobMismatchError)) throw error;
    await storage.delete(key);
    throw new UserError(
      `${relative} changed while it was being uploaded; upload again once nothing writes to it.`,
    );
  }
}

/**
 * Uploads a local folder into storage, content addressed: each file is stored once as
 * blobs/<sha256> (skipped when it is already there), then the folder's index of paths to blobs. An
 * interrupted upload resumes where it stopped; a second upload of the same folder stores nothing.
 * Hidden files and OS droppings (.DS_Store, Thumbs.db) are not data and are left out.
 */
export async function uploadFolder(storage: Storage, root: string): Promise<UploadOutcome> {
  const { files, skipped } = await listFiles(root);
  if (files.length === 0) throw new UserError(`${root} holds no files; check the path.`);
  for (const { path: filePath, reason } of skipped)
    process.stderr.write(`upload: left out ${filePath}: ${reason}\n`);
  const progress = new ProgressLine("upload  ");
  const hashed: DatasetIndex["files"] = [];
  let hashedBytes = 0;
  let totalBytes = 0;
  for (const f of files) totalBytes += (await stat(f.file)).size;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  let uploadedFiles = 0;
  let uploadedBytes = 0;
  for (const { file, path: filePath } of files) {
    let fileBytes = 0;
    const sha256 = await sha256OfFile(file, (n) => {
      fileBytes += n;
      hashedBytes += n;
      progress.update(
        hashedBytes,
        totalBytes,
        `bytes (${mib(hashedBytes)} of ${mib(totalBytes)}) ${filePath}`,
      );
    });
    if (!(await storage.exists(uploadKeys.blob(sha256)))) {
      await storeBlob(storage, file, filePath, sha256);
      uploadedFiles++;
      uploadedBytes += fileBytes;
    }
    hashed.push({ path: filePath, sha256, bytes: fileBytes });
  }
  progress.update(totalBytes, totalBytes, `bytes (${mib(totalBytes)}), ${uploadedFiles} files stored`);
  const name = path.basename(path.resolve(root));
  const fromHere = path.relative(process.cwd(), path.resolve(root));
  const index: DatasetIndex = {
    format: "hrpipe-dataset-index",
    version: 1,
    name,
    source: fromHere.startsWith("..") || path.isAbsolute(fromHere) ? name : fromHere || ".",
    files: hashed,
    skipped,
  };
  // The prefix is named by the files' paths and contents only, so the same folder uploaded from
  // another place (or machine) lands on the same dataset.
  const datasetPrefix = uploadKeys.datasetPrefix(name, contentHash(hashed));
  const indexKey = uploadKeys.index(datasetPrefix);
  if (!(await storage.exists(indexKey))) await writeArtifact(storage, indexKey, datasetIndexSchema, index);
  return { datasetPrefix, files: files.length, bytes: totalBytes, uploadedFiles, uploadedBytes };
}

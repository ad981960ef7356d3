import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OutputFolder, outputMarkerName } from "../src/output-folder.ts";

describe("OutputFolder", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-out-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function write(out: OutputFolder, files: string[]): Promise<void> {
    for (const file of files) await writeFile(await out.file(file), file);
    await out.finish();
  }

  it("makes a new folder and marks it as hrpipe's", async () => {
    const dir = path.join(root, "a", "new");
    await write(await OutputFolder.open(dir, { command: "test" }), ["report.html", "figures/x.svg"]);
    expect((await readdir(dir)).sort()).toEqual([outputMarkerName, "figures", "report.html"]);
    const marker = JSON.parse(await readFile(path.join(dir, outputMarkerName), "utf8"));
    expect(marker.files).toEqual(["figures/x.svg", "report.html"]);
  });

  it("refuses a non-empty folder without the marker and names --force; the files stay", async () => {
    await writeFile(path.join(root, "thesis.tex"), "mine");
    await expect(OutputFolder.open(root, { command: "test" })).rejects.toThrow(
      /already holds files hrpipe did not write \(thesis\.tex\).*--force/,
    );
    expect(await readdir(root)).toEqual(["thesis.tex"]);
  });

  it("with force writes beside a user's files and deletes none", async () => {
    await writeFile(path.join(root, "thesis.tex"), "mine");
    await write(await OutputFolder.open(root, { command: "test", force: true }), ["report.html"]);
    expect(await readFile(path.join(root, "thesis.tex"), "utf8")).toBe("mine");
    // Marked now: the next run replaces its own report and still leaves the user's file.
    await write(await OutputFolder.open(root, { command: "test" }), ["report.json"]);
    expect((await readdir(root)).sort()).toEqual([outputMarkerName, "report.json", "thesis.tex"]);
  });

  it("replaces only the files of its earlier output, not what a user added since", async () => {
    await write(await OutputFolder.open(root, { command: "test" }), ["report.html", "figures/old.svg"]);
    await writeFile(path.join(root, "notes.txt"), "mine");
    await writeFile(path.join(root, "figures", "mine.svg"), "mine");
    await write(await OutputFolder.open(root, { command: "test" }), ["report.html", "figures/new.svg"]);
    expect((await readdir(root)).sort()).toEqual([outputMarkerName, "figures", "notes.txt", "report.html"]);
    expect((await readdir(path.join(root, "figures"))).sort()).toEqual(["mine.svg", "new.svg"]);
  });

  it("ignores a marker's entries that point outside the folder", async () => {
    const dir = path.join(root, "out");
    await mkdir(dir);
    await writeFile(path.join(root, "victim.txt"), "mine");
    await writeFile(
      path.join(dir, outputMarkerName),
      JSON.stringify({ command: "x", files: ["../victim.txt", path.join(root, "victim.txt")] }),
    );
    await write(await OutputFolder.open(dir, { command: "test" }), ["report.html"]);
    expect(await readFile(path.join(root, "victim.txt"), "utf8")).toBe("mine");
  });

  it("refuses a path that is a file", async () => {
    const file = path.join(root, "f");
    await writeFile(file, "x");
    await expect(OutputFolder.open(file, { command: "test" })).rejects.toThrow(/is a file, not a folder/);
  });
});

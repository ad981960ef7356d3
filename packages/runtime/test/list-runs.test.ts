import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { plannedRunManifest } from "../../../tests/harness/manifests.ts";
import { listRuns } from "../src/run-deletion.ts";
import { FileStorage } from "../src/storage/index.ts";

describe("listRuns on file storage with folders hrpipe did not write", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-list-runs-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** A manifest as hrpipe writes it, at any key (writeManifest would refuse the odd ones). */
  async function put(key: string, runId: string) {
    const file = path.join(root, ...key.split("/"));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(plannedRunManifest(runId, "file:///x")));
  }

  it("lists each run once, and skips a folder with an unsafe name or an unreadable manifest, naming it", async () => {
    await put("runs/run-a/manifest.json", "run-a");
    await put("runs/run-a/reports/x/manifest.json", "run-a");
    await put("runs/old run/manifest.json", "old run");
    await mkdir(path.join(root, "runs", "run-b"), { recursive: true });
    await writeFile(path.join(root, "runs", "run-b", "manifest.json"), "{ not json");
    const skipped: string[] = [];
    const runs = await listRuns(new FileStorage(root), (folder, reason) =>
      skipped.push(`${folder}: ${reason}`),
    );
    expect(runs.map((run) => run.runId)).toEqual(["run-a"]);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatch(/^runs\/old run: run folder "old run" is not a safe storage name/);
    expect(skipped[1]).toMatch(/^runs\/run-b: /);
  });
});

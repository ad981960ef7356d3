import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const packageDir = path.resolve(import.meta.dirname, "..");

describe("loading @hrpipe/face", () => {
  it("leaves TensorFlow.js unloaded until a tfjs backend is asked for (it costs every analysis thread 0.3 CPU-s)", () => {
    // A fresh process, as a worker thread or `hrpipe rppg` starts: which CommonJS modules did the import load?
    const loaded = (script: string) =>
      execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: packageDir,
        encoding: "utf8",
      }).trim();
    const tfjsLoaded =
      "const { createRequire } = await import('node:module');" +
      "console.log(Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('@tensorflow/tfjs/')));";
    expect(loaded(`await import('@hrpipe/face'); ${tfjsLoaded}`)).toBe("false");
    // The check itself sees tfjs once something does load it.
    expect(
      loaded(
        `const { selectTfjsBackend } = await import('@hrpipe/model'); await selectTfjsBackend(undefined, 'cpu'); ${tfjsLoaded}`,
      ),
    ).toBe("true");
  }, 60_000);
});

import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configVariables, environmentTable } from "../src/config.ts";
import { renderStageGraph } from "../src/stages.ts";

const root = path.resolve(import.meta.dirname, "../../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === "node_modules" || name === "test") return [];
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith(".ts") ? [full] : [];
  });
}

describe("configuration has one source", () => {
  it("README.md's configuration table lists exactly the declared variables", () => {
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? "";
    const listed = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(listed, `README.md's table should be:\n${environmentTable()}`).toEqual(configVariables);
    expect(section).toContain(environmentTable());
  });

  it("the code reads no environment variable that is not declared", () => {
    const names = new Set<string>();
    for (const folder of ["apps", "packages", "workers"]) {
      for (const file of sourceFiles(path.join(root, folder))) {
        const text = readFileSync(file, "utf8");
        for (const match of text.matchAll(
          /\b(?:HRPIPE|S3|REDIS|STORAGE|LOG|FFMPEG|FFPROBE|AWS)_[A-Z0-9_]+\b/g,
        ))
          names.add(match[0]);
      }
    }
    const undeclared = [...names].filter((name) => !configVariables.includes(name as never));
    expect(undeclared).toEqual([]);
  });
});

describe("the README picture is the declared stage graph", () => {
  it("README.md embeds renderStageGraph() exactly", () => {
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    expect(readme, `README.md's Architecture picture should be:\n${renderStageGraph()}`).toContain(
      `\`\`\`\n${renderStageGraph()}\n\`\`\``,
    );
  });
});

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export type MediaTool = "ffmpeg" | "ffprobe";

export interface ResolvedTool {
  tool: MediaTool;
  path: string;
  /** Where the path came from: the environment variable, the system PATH, or an npm package. */
  source: "env" | "system" | "npm";
}

const envVariable: Record<MediaTool, string> = { ffmpeg: "FFMPEG_PATH", ffprobe: "FFPROBE_PATH" };
const npmPackage: Record<MediaTool, string> = {
  ffmpeg: "@ffmpeg-installer/ffmpeg",
  ffprobe: "@ffprobe-installer/ffprobe",
};

function onSystemPath(tool: MediaTool): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function fromNpm(tool: MediaTool): string | undefined {
  try {
    return (require(npmPackage[tool]) as { path: string }).path;
  } catch {
    return undefined;
  }
}

const resolved = new Map<MediaTool, ResolvedTool>();

/** FFMPEG_PATH / FFPROBE_PATH, else the system binary, else the one shipped in an npm package. */
export function resolveTool(tool: MediaTool, env: NodeJS.ProcessEnv = process.env): ResolvedTool {
  const cached = resolved.get(tool);
  if (cached && env === process.env) return cached;
  const configured = env[envVariable[tool]];
  let result: ResolvedTool | undefined;
  if (configured) result = { tool, path: configured, source: "env" };
  else {
    const system = onSystemPath(tool);
    if (system) result = { tool, path: system, source: "system" };
    else {
      const shipped = fromNpm(tool);
      if (shipped) result = { tool, path: shipped, source: "npm" };
    }
  }
  if (!result) {
    throw new Error(
      `${tool} was not found; install it (apt-get install ffmpeg) or set ${envVariable[tool]} to its path.`,
    );
  }
  if (env === process.env) resolved.set(tool, result);
  return result;
}

/** The tool's own first version line, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
export function toolVersion(tool: ResolvedTool): string {
  const run = spawnSync(tool.path, ["-version"], { encoding: "utf8" });
  if (run.error || run.status !== 0) {
    const why = run.error?.message ?? run.stderr.trim().split("\n")[0];
    throw new Error(
      `${tool.path} (${tool.tool}, from ${tool.source}) does not run: ${why}; fix ${envVariable[tool.tool]} or reinstall ${tool.tool}.`,
    );
  }
  return run.stdout.split("\n")[0]!.replace(/ Copyright.*$/, "");
}

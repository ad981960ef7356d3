/**
 * What infra/Dockerfile builds, without Docker: a copy of this checkout (tracked and new files, as
 * git sees them), its install, then the image's two build steps, infra/compile.sh and
 * infra/install-prod.sh. tests/infra/compiled.test.ts runs the pipeline in the result and
 * `pnpm bench cli-startup` times it.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

function sh(command: string, cwd: string): void {
  execFileSync("sh", ["-c", command], { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

/** Builds the compiled tree under `dir` (which must exist and be empty); returns its CLI entry point. */
export function buildCompiledTree(dir: string): { app: string; bin: string } {
  const checkout = path.join(dir, "checkout");
  const app = path.join(dir, "app");
  sh(
    `mkdir -p "${checkout}" && git ls-files -co --exclude-standard -z | xargs -0 tar -c | tar -x -C "${checkout}"`,
    root,
  );
  // From the store this checkout installed from: nothing is downloaded but what it lacks.
  sh("pnpm install --frozen-lockfile --prefer-offline", checkout);
  sh(`sh infra/compile.sh "${app}"`, checkout);
  sh("sh infra/install-prod.sh --prefer-offline", app);
  return { app, bin: path.join(app, "apps/cli/bin/hrpipe.js") };
}

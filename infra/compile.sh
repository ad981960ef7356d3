#!/usr/bin/env sh
# The images' build step: in a checkout with every dependency installed, emits JavaScript with tsc
# next to each source file, points the packages' exports at it and deletes the TypeScript, so that
# `node apps/cli/bin/hrpipe.js` runs compiled code without tsx; then copies what the runtime needs
# (no node_modules, no tests) to OUT. It rewrites the folder it runs in: run it in an image's build
# stage or a throwaway copy of the repository, never in your checkout.
# Usage: sh infra/compile.sh OUT
set -eu
out="$1"
cd "$(dirname "$0")/.."
node node_modules/typescript/bin/tsc -p tsconfig.build.json
node --input-type=module -e '
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
for (const dir of ["apps", "packages", "workers"])
  for (const name of readdirSync(dir)) {
    const file = `${dir}/${name}/package.json`;
    if (existsSync(file))
      writeFileSync(file, readFileSync(file, "utf8").replace(/("\.\/src\/[^"]+)\.ts"/g, "$1.js\""));
  }
'
find apps/*/src packages/*/src workers/*/src -name '*.ts' -delete
mkdir -p "$out"
tar -c --exclude=node_modules --exclude='*/test' \
  package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc apps packages workers \
  infra/install-prod.sh infra/install-cuda-provider.sh | tar -x -C "$out"

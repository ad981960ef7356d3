#!/usr/bin/env sh
# The images' production dependencies, in a tree infra/compile.sh wrote: what the CLI needs at run
# time and nothing else (no TypeScript, tsx, vitest or test servers). The npm-shipped fallback ffmpeg
# and ffprobe go too: the images install Debian's, and one ffmpeg is one set of codecs to trust.
# Usage: sh infra/install-prod.sh [extra pnpm install flags]
set -eu
cd "$(dirname "$0")/.."
pnpm install --prod --frozen-lockfile --filter "@hrpipe/cli..." "$@"
rm -rf node_modules/.pnpm/@ffmpeg-installer+linux-x64@* node_modules/.pnpm/@ffprobe-installer+linux-x64@*

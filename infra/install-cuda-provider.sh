#!/usr/bin/env sh
# ONNX Runtime's CUDA 12 execution provider for the DenseNet backbone. onnxruntime-node ships its CPU
# binaries; the CUDA provider is a download its install script makes only when asked (pnpm runs no
# build script it was not told to). Run once on a GPU host after `pnpm install`; infra/Dockerfile.gpu
# runs exactly this. `hrpipe doctor` then lists cuda among the providers. Needs CUDA 12 and cuDNN 9.
# Usage: sh infra/install-cuda-provider.sh
set -eu
cd "$(dirname "$0")/.."
package=$(node -e '
const { createRequire } = require("node:module");
const path = require("node:path");
const fromModel = createRequire(path.resolve("packages/model/package.json"));
console.log(path.dirname(fromModel.resolve("onnxruntime-node/package.json")));
')
echo "installing the CUDA 12 execution provider into $package"
cd "$package"
ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-cuda12}" node script/install.js

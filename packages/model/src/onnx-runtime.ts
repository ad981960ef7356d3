import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as ort from "onnxruntime-node";

const require = createRequire(import.meta.url);

export interface OnnxRuntimeInfo {
  version: string;
  /** Execution providers usable here, best first. */
  providers: string[];
}

/**
 * The CUDA provider ships separately from the npm package (onnxruntime-node's install script with
 * --onnxruntime-node-install=cuda12 puts it beside the binding); it is usable once its library is there.
 */
export function cudaProviderInstalled(): boolean {
  const root = path.dirname(require.resolve("onnxruntime-node/package.json"));
  const binding = path.join(root, "bin", "napi-v6", process.platform, process.arch);
  return existsSync(path.join(binding, "libonnxruntime_providers_cuda.so"));
}

export function onnxRuntimeInfo(): OnnxRuntimeInfo {
  const cuda = cudaProviderInstalled();
  const providers = (ort.listSupportedBackends?.() ?? [{ name: "cpu", bundled: true }])
    // Only the providers hrpipe uses: CUDA where installed, else CPU (webgpu needs a GPU adapter and a display stack).
    .filter((backend) => (backend.name === "cpu" && backend.bundled) || (backend.name === "cuda" && cuda))
    .map((backend) => backend.name)
    .sort((a, b) => Number(b === "cuda") - Number(a === "cuda"));
  return { version: ort.env.versions.common, providers };
}

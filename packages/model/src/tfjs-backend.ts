import { createRequire } from "node:module";
import type * as tfjs from "@tensorflow/tfjs";
import { registerFastWasmConcat } from "./wasm-concat.ts";

const require = createRequire(import.meta.url);

export type TfjsBackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";

export interface TfjsBackendCandidate {
  name: TfjsBackendName;
  /** Registers the backend with tfjs (an import that fails when the package or its binary is absent). */
  register(): Promise<unknown>;
  /** The name tfjs knows the backend by. */
  tfjsName: string;
}

/** Best first. tfjs-node(-gpu) are optional: their libtensorflow download fails offline. */
export const defaultTfjsCandidates: TfjsBackendCandidate[] = [
  {
    name: "tensorflow-gpu",
    register: () => import(/* @vite-ignore */ "@tensorflow/tfjs-node-gpu" as string),
    tfjsName: "tensorflow",
  },
  {
    name: "tensorflow",
    register: () => import(/* @vite-ignore */ "@tensorflow/tfjs-node" as string),
    tfjsName: "tensorflow",
  },
  { name: "wasm", register: () => import("@tensorflow/tfjs-backend-wasm"), tfjsName: "wasm" },
  { name: "cpu", register: async () => undefined, tfjsName: "cpu" },
];

export interface TfjsBackendChoice {
  name: TfjsBackendName;
  tf: typeof tfjs;
  /** The better backends that could not be used, and why. */
  skipped: { name: TfjsBackendName; reason: string }[];
}

let chosen: Promise<TfjsBackendChoice> | undefined;

/**
 * Picks the best tfjs backend that loads: tfjs-node-gpu, tfjs-node, wasm, cpu. HRPIPE_TFJS_BACKEND
 * pins one by name. The choice is made once per process.
 */
export function selectTfjsBackend(
  candidates: TfjsBackendCandidate[] = defaultTfjsCandidates,
  pinned: string | undefined = process.env.HRPIPE_TFJS_BACKEND,
): Promise<TfjsBackendChoice> {
  if (candidates === defaultTfjsCandidates && pinned === process.env.HRPIPE_TFJS_BACKEND) {
    chosen ??= pickBackend(candidates, pinned);
    return chosen;
  }
  return pickBackend(candidates, pinned);
}

async function pickBackend(
  candidates: TfjsBackendCandidate[],
  pinned: string | undefined,
): Promise<TfjsBackendChoice> {
  const eligible = pinned ? candidates.filter((c) => c.name === pinned) : candidates;
  if (eligible.length === 0) {
    throw new Error(
      `HRPIPE_TFJS_BACKEND=${pinned} is not one of ${candidates.map((c) => c.name).join(", ")}; fix or unset it.`,
    );
  }
  // Loaded here, not on import: most of hrpipe never touches tfjs (the face nets and DenseNet run in
  // ONNX Runtime), and loading it costs about 0.3 s of CPU in every process and thread.
  // Required (its CommonJS build, the one face-api's builds require too), not imported: an ESM import
  // of a CommonJS module still loading elsewhere sees its exports before they are set.
  const tf = require("@tensorflow/tfjs") as typeof tfjs;
  const skipped: TfjsBackendChoice["skipped"] = [];
  for (const candidate of eligible) {
    try {
      await candidate.register();
      if (!(await tf.setBackend(candidate.tfjsName)))
        throw new Error(`tfjs could not initialise backend ${candidate.tfjsName}`);
      await tf.ready();
      if (candidate.tfjsName === "wasm") registerFastWasmConcat(tf);
      return { name: candidate.name, tf, skipped };
    } catch (error) {
      skipped.push({
        name: candidate.name,
        reason: ((error as Error).message ?? String(error)).split("\n")[0]!,
      });
    }
  }
  throw new Error(
    `no tfjs backend could be loaded (${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}).`,
  );
}

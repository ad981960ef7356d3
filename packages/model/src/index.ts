export * from "./backbone-thread.ts";
export * from "./densenet.ts";
export * from "./feature-extractor.ts";
export * from "./head.ts";
export * from "./head-io.ts";
export * from "./onnx/graph.ts";
export * from "./onnx-runtime.ts";
export * from "./tfjs-backend.ts";

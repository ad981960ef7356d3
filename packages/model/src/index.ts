export * from "./densenet.ts";
export * from "./face-models.ts";
export * from "./feature-extractor.ts";
export * from "./onnx/graph.ts";
export * from "./onnx-runtime.ts";
export * from "./tfjs-backend.ts";

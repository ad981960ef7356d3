export * from "./face-models.ts";
export * from "./onnx-runtime.ts";
export * from "./tfjs-backend.ts";

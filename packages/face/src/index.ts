export * from "./analyse.ts";
export * from "./face-detector.ts";
export * from "./face-models.ts";
export * from "./image.ts";
export * from "./tracker.ts";

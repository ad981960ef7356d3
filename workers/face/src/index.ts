export * from "./analyse.ts";
export * from "./image.ts";
export * from "./processor.ts";
export * from "./tracker.ts";
export * from "./worker.ts";

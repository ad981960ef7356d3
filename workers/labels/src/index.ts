export * from "./label-trials.ts";
export * from "./processor.ts";
export * from "./worker.ts";

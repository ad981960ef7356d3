export * from "./evaluate.ts";
export * from "./figures.ts";
export * from "./processor.ts";
export * from "./worker.ts";

export * from "./gather.ts";
export * from "./plan.ts";
export * from "./processor.ts";
export * from "./worker.ts";

export * from "./cache.ts";
export * from "./dataset.ts";
export * from "./ecg.ts";
export * from "./face-video.ts";
export * from "./pulse.ts";

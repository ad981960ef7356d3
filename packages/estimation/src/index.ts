export * from "./live.ts";
export * from "./run-videos.ts";
export * from "./video.ts";

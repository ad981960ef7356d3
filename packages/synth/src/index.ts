export * from "./face-video.ts";
export * from "./pulse.ts";

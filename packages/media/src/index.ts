export * from "./binaries.ts";
export * from "./ffmpeg.ts";
export * from "./launcher.ts";
export * from "./live.ts";
export * from "./scratch.ts";
export * from "./yuv.ts";

export * from "./binaries.ts";
export * from "./ffmpeg.ts";
export * from "./scratch.ts";

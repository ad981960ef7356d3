export * from "./binaries.ts";
export * from "./ffmpeg.ts";

export * from "./read.ts";
export * from "./types.ts";
export * from "./write.ts";

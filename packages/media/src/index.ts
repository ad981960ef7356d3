export * from "./binaries.ts";

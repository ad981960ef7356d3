export * from "./html.ts";

export * from "./figures.ts";
export * from "./html.ts";

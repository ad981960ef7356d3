export * from "./analyse.ts";
export * from "./analyser.ts";
export * from "./face-detector.ts";
export * from "./face-models.ts";
export * from "./image.ts";
export * from "./picture.ts";
export * from "./skin-area.ts";
export * from "./tracker.ts";

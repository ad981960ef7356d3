export * from "./ecg.ts";
export * from "./filters.ts";
export * from "./heart-rate.ts";

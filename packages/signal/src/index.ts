export * from "./detrend.ts";
export * from "./ecg.ts";
export * from "./filters.ts";
export * from "./heart-rate.ts";
export * from "./metrics.ts";
export * from "./rppg.ts";
export * from "./spectrum.ts";

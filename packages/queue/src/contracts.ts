/**
 * The light part of the contracts (schemas, the stage graph, configuration): no Redis, storage or
 * BullMQ, so `hrpipe --help` and `--version` start fast. Everything here is also in the package's index.
 */
export * from "./config.ts";
export * from "./payloads.ts";
export * from "./run-flags.ts";
export * from "./stages.ts";

/**
 * `@hrpipe/runtime/storage`: reading and writing artifacts, without the queues, logging, metrics and
 * tracing the package's main entry loads with them (BullMQ, pino, prom-client, OpenTelemetry: about a
 * CPU-second), for processes that only read and write storage (`hrpipe rppg`, estimation).
 */
export * from "./artifact-io.ts";
export * from "./errors.ts";
export * from "./manifest-io.ts";
export * from "./networks.ts";
export * from "./storage/index.ts";
export * from "./video-traces.ts";

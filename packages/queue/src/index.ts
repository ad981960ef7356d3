export * from "./config.ts";
export * from "./keys.ts";
export * from "./logger.ts";
export * from "./payloads.ts";
export * from "./queues.ts";
export * from "./redis.ts";
export * from "./safetensors.ts";
export * from "./storage/index.ts";

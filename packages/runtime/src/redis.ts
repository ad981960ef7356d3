import { redactUrl } from "@hrpipe/contracts";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger.ts";

export { Redis } from "ioredis";

export type ConnectionRole = "producer" | "worker";

/**
 * A Redis connection with BullMQ's production settings. Workers block on Redis and must never give
 * up a command (maxRetriesPerRequest null); producers fail fast instead of queueing commands while
 * Redis is down (no offline queue), so that a caller learns at once that its job was not added.
 */
export function createRedisConnection(
  url: string,
  role: ConnectionRole,
  overrides: RedisOptions = {},
): Redis {
  const connection = new Redis(url, {
    maxRetriesPerRequest: role === "worker" ? null : 1,
    enableOfflineQueue: role === "worker",
    retryStrategy: defaultRetryStrategy,
    ...overrides,
  });
  // While Redis is away ioredis reconnects with backoff and BullMQ reports the outage as 'error'
  // events of its workers and queues, which the worker process logs; without a listener here ioredis
  // would also print every failed reconnect attempt.
  connection.on("error", () => {});
  return connection;
}

function defaultRetryStrategy(attempt: number): number {
  return Math.min(attempt * 200, 5_000);
}

/**
 * Opens a connection and waits until Redis answers; rejects with one sentence naming the URL when it
 * does not, instead of retrying forever in the background.
 */
export async function openRedis(url: string, role: ConnectionRole, timeoutMs = 5_000): Promise<Redis> {
  const connection = createRedisConnection(url, role, { lazyConnect: true, retryStrategy: () => null });
  // The failure is reported by the rejection below; ioredis would also print it as an unhandled event.
  let lastError: Error | undefined;
  const quiet = (error: Error) => {
    lastError = error;
  };
  connection.on("error", quiet);
  try {
    await Promise.race([
      connection.connect(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs),
      ),
    ]);
  } catch (error) {
    connection.disconnect();
    throw new Error(
      `Redis at ${redactUrl(url)} did not answer (${(lastError ?? (error as Error)).message}); start redis-server or point REDIS_URL at a running server.`,
    );
  }
  connection.off("error", quiet);
  // Once connected, reconnect with backoff like any other long-lived connection.
  connection.options.retryStrategy = defaultRetryStrategy;
  return connection;
}

export interface RedisServerInfo {
  version: string;
  maxmemoryPolicy: string;
}

export async function readRedisServerInfo(connection: Redis): Promise<RedisServerInfo> {
  const info = await connection.info("server");
  const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? "unknown";
  const policy = (await connection.config("GET", "maxmemory-policy")) as string[];
  return { version, maxmemoryPolicy: policy[1] ?? "unknown" };
}

/** BullMQ loses jobs when Redis evicts keys; say so loudly when the server allows eviction. */
export async function warnUnlessNoEviction(connection: Redis, logger: Logger): Promise<RedisServerInfo> {
  const info = await readRedisServerInfo(connection);
  if (info.maxmemoryPolicy !== "noeviction") {
    logger.warn(
      { maxmemoryPolicy: info.maxmemoryPolicy },
      `Redis maxmemory-policy is ${info.maxmemoryPolicy}; set it to noeviction (CONFIG SET maxmemory-policy noeviction) or queued jobs can be silently evicted.`,
    );
  }
  return info;
}

import { type ChildProcess, spawn } from "node:child_process";
import { createRedisConnection, redisServerBinary } from "@hrpipe/runtime";
import { waitUntil } from "./processes.ts";

/**
 * A private redis-server on a fixed port and data folder, so that a test can kill it and start it
 * again there; `appendOnly` keeps its keys in an append-only file fsynced at every write, as the
 * deployments configure it, so that a restarted server comes back with its queues.
 */
export async function startRedisAt(
  port: number,
  dir: string,
  options: { appendOnly?: boolean } = {},
): Promise<ChildProcess> {
  const persistence = options.appendOnly
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir];
  const child = spawn(redisServerBinary()!, [...args, ...persistence, "--maxmemory-policy", "noeviction"], {
    stdio: "ignore",
  });
  const probe = createRedisConnection(`redis://127.0.0.1:${port}`, "producer");
  await waitUntil(
    async () => (await probe.ping().catch(() => "")) === "PONG",
    "redis-server to answer",
    10_000,
    50,
  );
  probe.disconnect();
  return child;
}

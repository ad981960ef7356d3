import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createRedisConnection,
  freePort,
  type Redis,
  redisServerBinary,
  StageQueues,
  workerProducerConnection,
} from "@hrpipe/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntil } from "../harness/processes.ts";
import { startRedisAt } from "../harness/redis-at.ts";

const binary = redisServerBinary();

describe.runIf(binary)("a worker's producer connection across a Redis restart", () => {
  const children: ChildProcess[] = [];
  const connections: Redis[] = [];
  let dir: string;
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    for (const connection of connections) connection.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function addDuringRestart(connection: Redis, port: number) {
    connections.push(connection);
    const queues = new StageQueues({ connection, prefix: "restart" });
    // The queue reports the outage as events too; the outcome of add() is what is under test.
    queues.queue("labels").on("error", () => {});
    await queues.queue("labels").waitUntilReady();
    children.at(-1)!.kill("SIGKILL");
    await waitUntil(async () => connection.status !== "ready", "the connection to notice", 10_000, 20);
    const added = queues
      .add("labels", { runId: "r", participant: "P01", matKey: "m.mat" })
      .then((job) => ({ ok: true as const, id: job.id }))
      .catch((error: Error) => ({ ok: false as const, error: error.message }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    children.push(await startRedisAt(port, dir));
    return added;
  }

  it("waits for Redis to come back instead of failing the job's attempt", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-restart-test-"));
    const port = await freePort();
    children.push(await startRedisAt(port, dir));
    const outcome = await addDuringRestart(workerProducerConnection(`redis://127.0.0.1:${port}`), port);
    expect(outcome).toEqual({ ok: true, id: expect.any(String) });
  }, 30_000);

  it("where a command's producer, which must fail fast, reports the outage (the control)", async () => {
    const port = await freePort();
    children.push(await startRedisAt(port, dir));
    const outcome = await addDuringRestart(
      createRedisConnection(`redis://127.0.0.1:${port}`, "producer"),
      port,
    );
    expect(outcome).toMatchObject({ ok: false });
  }, 30_000);
});

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function redisServerBinary(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("error", () => resolve(false));
    socket.once("data", (data: Buffer) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.write("PING\r\n");
  });
}

/** The major version of a redis-server binary, from `redis-server --version` (0 when it does not say). */
function majorVersion(binary: string): number {
  const printed = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return Number(/v=(\d+)\./.exec(printed)?.[1] ?? 0);
}

/**
 * A private redis-server on a free loopback port, set up as BullMQ needs it (noeviction) and keeping
 * nothing on disk: for `hrpipe demo` and the tests. Redis 7 keeps a latency histogram of about 30 KB
 * for every command name it has run (latency-tracking); nothing of hrpipe's reads them, and after a
 * run they were two thirds of what Redis held beyond its start (bench:scale), so they are off.
 */
export async function startPrivateRedis(binary = redisServerBinary()): Promise<PrivateRedis> {
  if (!binary) {
    throw new Error(
      "no redis-server on PATH; install it (apt-get install redis-server) or point REDIS_URL / --redis at a running Redis.",
    );
  }
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-redis-"));
  const child: ChildProcess = spawn(
    binary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--maxmemory-policy",
      "noeviction",
      ...(majorVersion(binary) >= 7 ? ["--latency-tracking", "no"] : []),
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`redis-server (${binary}) did not start on port ${port}.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

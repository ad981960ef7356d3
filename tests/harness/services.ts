import { mkdtemp } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, startPrivateRedis } from "@hrpipe/runtime";

/** A service the test run started, with what it takes to stop it. */
export interface RunningService {
  url: string;
  description: string;
  stop(): Promise<void>;
}

/** A private redis-server on a free port, configured as BullMQ requires (noeviction, no persistence). */
export async function startRedisServer(): Promise<RunningService> {
  const redis = await startPrivateRedis();
  return { url: redis.url, description: `private redis-server on port ${redis.port}`, stop: redis.stop };
}

export const s3rverCredentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1" };

/** s3rver in this process on a free port: a real S3 protocol server, not a mock of the SDK. */
export async function startS3rver(at?: {
  port: number;
  directory: string;
}): Promise<RunningService & { port: number; directory: string }> {
  const { default: S3rver } = await import("s3rver");
  const port = at?.port ?? (await freePort());
  const directory = at?.directory ?? (await mkdtemp(path.join(tmpdir(), "hrpipe-s3-")));
  const server = new S3rver({ port, address: "127.0.0.1", silent: true, directory, resetOnClose: false });
  await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    description: `s3rver on port ${port}`,
    port,
    directory,
    /** Stops the server; its objects stay in `directory`, so it can be started again on the same port. */
    async stop() {
      await server.close();
    },
  };
}

/** True when a Docker engine answers on its socket (testcontainers needs one). */
export function dockerEngineAnswers(socketPath = "/var/run/docker.sock"): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("error", () => resolve(false));
    req.once("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Redis in a container, through testcontainers; only called where a Docker engine answers. */
export async function startRedisContainer(): Promise<RunningService> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const container = await new GenericContainer("redis:7-alpine")
    .withCommand(["redis-server", "--maxmemory-policy", "noeviction", "--save", ""])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    description: "redis:7-alpine container (testcontainers)",
    async stop() {
      await container.stop();
    },
  };
}

/**
 * SeaweedFS's S3 server in a container, through testcontainers; only called where a Docker engine
 * answers. The same pinned image as infra/docker-compose.yml (MinIO's images are no longer published).
 */
export async function startS3Container(): Promise<
  RunningService & { accessKeyId: string; secretAccessKey: string }
> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const accessKeyId = "hrpipe";
  const secretAccessKey = "hrpipe-secret";
  const identities = {
    identities: [
      {
        name: accessKeyId,
        credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
        actions: ["Admin", "Read", "Write", "List", "Tagging"],
      },
    ],
  };
  const container = await new GenericContainer("chrislusf/seaweedfs:3.80")
    .withCommand(["server", "-dir=/data", "-s3", "-s3.port=8333", "-s3.config=/etc/seaweedfs/s3.json"])
    .withCopyContentToContainer([{ content: JSON.stringify(identities), target: "/etc/seaweedfs/s3.json" }])
    .withExposedPorts(8333)
    .withWaitStrategy(Wait.forHttp("/healthz", 8333))
    .start();
  return {
    url: `http://${container.getHost()}:${container.getMappedPort(8333)}`,
    description: "chrislusf/seaweedfs:3.80 container (testcontainers)",
    accessKeyId,
    secretAccessKey,
    async stop() {
      await container.stop();
    },
  };
}

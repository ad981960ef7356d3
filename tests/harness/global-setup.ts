import { rm } from "node:fs/promises";
import { redisServerBinary } from "@hrpipe/runtime";
import type { TestProject } from "vitest/node";
import {
  dockerEngineAnswers,
  type RunningService,
  s3rverCredentials,
  startRedisContainer,
  startRedisServer,
  startS3Container,
  startS3rver,
} from "./services.ts";

export interface S3Endpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    s3: S3Endpoint;
    services: string[];
  }
}

/**
 * Starts the real services every suite talks to, once per test run:
 * - Redis: a private redis-server on a free port; else REDIS_URL; else a testcontainers Redis where a
 *   Docker engine answers. HRPIPE_TEST_CONTAINERS=1 prefers containers where Docker answers.
 * - S3: S3_ENDPOINT (e.g. MinIO) when set; a SeaweedFS container with HRPIPE_TEST_CONTAINERS=1 where Docker
 *   answers; else s3rver in-process on a free port.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: RunningService[] = [];
  const wantContainers = process.env.HRPIPE_TEST_CONTAINERS === "1";
  const docker = await dockerEngineAnswers();
  if (wantContainers && !docker)
    console.warn("[harness] HRPIPE_TEST_CONTAINERS=1 but no Docker engine answers; using local servers.");
  const useContainers = wantContainers && docker;

  let redisUrl: string;
  if (useContainers) {
    const redis = await startRedisContainer();
    started.push(redis);
    redisUrl = redis.url;
  } else if (redisServerBinary()) {
    const redis = await startRedisServer();
    started.push(redis);
    redisUrl = redis.url;
  } else if (process.env.REDIS_URL) {
    redisUrl = process.env.REDIS_URL;
  } else if (docker) {
    const redis = await startRedisContainer();
    started.push(redis);
    redisUrl = redis.url;
  } else {
    throw new Error(
      "The tests need Redis: install redis-server (apt-get install redis-server) or set REDIS_URL.",
    );
  }

  let s3: S3Endpoint;
  if (process.env.S3_ENDPOINT) {
    s3 = {
      endpoint: process.env.S3_ENDPOINT,
      accessKeyId: process.env.S3_ACCESS_KEY_ID ?? "",
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? "",
      region: process.env.S3_REGION ?? "us-east-1",
    };
  } else if (useContainers) {
    const server = await startS3Container();
    started.push(server);
    s3 = {
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      region: "us-east-1",
    };
  } else {
    const server = await startS3rver();
    started.push({
      ...server,
      stop: async () => {
        await server.stop();
        await rm(server.directory, { recursive: true, force: true });
      },
    });
    s3 = { endpoint: server.url, ...s3rverCredentials };
  }

  project.provide("redisUrl", redisUrl);
  project.provide("s3", s3);
  project.provide(
    "services",
    started.map((service) => service.description),
  );
  return async () => {
    for (const service of started.reverse()) await service.stop();
  };
}

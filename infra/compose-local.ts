/**
 * Runs the hrpipe services of infra/docker-compose.yml without Docker: the same commands and the same
 * environment as the compose services, as local processes, pointed at a Redis and an S3 server given
 * in the environment. Then it synthesises a small dataset, ingests it, waits for the report, and stops
 * every service with SIGTERM (each must drain and exit 0).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 S3_ENDPOINT=http://127.0.0.1:9000 S3_ACCESS_KEY_ID=... \
 *   S3_SECRET_ACCESS_KEY=... COMPOSE_BUCKET=hrpipe pnpm infra:local
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "@hrpipe/contracts";
import { createRedisConnection, freePort, openStorage, runProgress, StageQueues } from "@hrpipe/runtime";
import { parse } from "yaml";

const root = path.resolve(import.meta.dirname, "..");
const bin = path.join(root, "apps/cli/bin/hrpipe.js");

interface ComposeService {
  image?: string;
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
}

/** `${NAME:-default}` and `${NAME:?message}` as compose expands them, from `env`. */
function interpolate(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_, name: string, kind: string, rest: string) => {
      const found = env[name];
      if (found) return found;
      if (kind === "?") throw new Error(`${name} must be set: ${rest}`);
      return kind === "-" ? rest : "";
    },
  );
}

export interface ComposeServiceCommand {
  name: string;
  args: string[];
  env: Record<string, string>;
}

/** The hrpipe services of the compose file that `docker compose up` starts, with their commands and environment. */
export function composeServiceCommands(composeFile: string, env: NodeJS.ProcessEnv): ComposeServiceCommand[] {
  const compose = parse(readFileSync(composeFile, "utf8"), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  return Object.entries(compose.services)
    .filter(
      ([, service]) => service.image?.startsWith("hrpipe:") && service.command && !service.profiles?.length,
    )
    .map(([name, service]) => ({
      name,
      args: service.command!,
      env: Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([key, value]) => [
          key,
          interpolate(String(value), env),
        ]),
      ),
    }));
}

export interface LocalRunResult {
  services: string[];
  runId: string;
  exitCodes: Record<string, number | null>;
  reportKey: string;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.once("exit", (code) => resolve({ code, output }));
  });
}

export async function runComposeLocally(env: NodeJS.ProcessEnv = process.env): Promise<LocalRunResult> {
  for (const name of ["REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"]) {
    if (!env[name])
      throw new Error(`${name} must be set: point the services at a local Redis and S3 server.`);
  }
  const bucket = env.COMPOSE_BUCKET ?? "hrpipe";
  // What differs from the compose network: the hosts of Redis and S3, and the bucket.
  const overrides = {
    REDIS_URL: env.REDIS_URL!,
    S3_ENDPOINT: env.S3_ENDPOINT!,
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID!,
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY!,
    STORAGE_URL: `s3://${bucket}/pipeline`,
    HRPIPE_QUEUE_PREFIX: env.HRPIPE_QUEUE_PREFIX ?? "hrpipe",
    HRPIPE_DASHBOARD_PASSWORD: env.HRPIPE_DASHBOARD_PASSWORD ?? "compose-local",
    LOG_LEVEL: "warn",
  };
  const services = composeServiceCommands(path.join(root, "infra/docker-compose.yml"), {
    ...env,
    ...overrides,
  });
  const children = new Map<string, ChildProcess>();
  const exited = new Map<string, Promise<number | null>>();
  const outputs = new Map<string, string>();
  for (const service of services) {
    // Containers each have their own ports; local processes share one host, so each gets a free one.
    const port = String(await freePort());
    const args = service.args.map((arg, i) => (service.args[i - 1] === "--port" ? port : arg));
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, ...service.env, ...overrides },
      stdio: ["ignore", "pipe", "pipe"],
    });
    outputs.set(service.name, "");
    child.stdout!.on("data", (c) => outputs.set(service.name, outputs.get(service.name) + c));
    child.stderr!.on("data", (c) => outputs.set(service.name, outputs.get(service.name) + c));
    children.set(service.name, child);
    exited.set(service.name, new Promise((resolve) => child.once("exit", (code) => resolve(code))));
  }
  const cliEnv = { ...process.env, ...services[0]!.env, ...overrides };
  try {
    const synth = await run(
      [
        "synth",
        `s3://${bucket}/pipeline/datasets/compose`,
        "--participants",
        "2",
        "--videos",
        "2",
        "--seconds",
        "6",
        "--size",
        "256x192",
      ],
      cliEnv,
    );
    if (synth.code !== 0) throw new Error(`hrpipe synth failed: ${synth.output}`);
    const runId = `compose-${Date.now()}`;
    const ingest = await run(
      [
        "ingest",
        "datasets/compose",
        "--run-id",
        runId,
        "--epochs",
        "2",
        "--segment",
        "4",
        "--features-fps",
        "5",
      ],
      cliEnv,
    );
    if (ingest.code !== 0) throw new Error(`hrpipe ingest failed: ${ingest.output}`);
    const config = loadConfig(cliEnv);
    const queues = new StageQueues({
      connection: createRedisConnection(config.redisUrl!, "producer"),
      prefix: config.queuePrefix,
    });
    const storage = openStorage(config.storageUrl, config);
    const deadline = Date.now() + 300_000;
    while (!(await runProgress(queues, storage, runId)).finished) {
      if (Date.now() > deadline)
        throw new Error(
          `run ${runId} did not finish in 300 s:\n${[...outputs].map(([n, o]) => `${n}: ${o.slice(-1500)}`).join("\n")}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const reportKey = `runs/${runId}/reports/report.json`;
    if (!(await storage.exists(reportKey))) throw new Error(`run ${runId} finished without ${reportKey}`);
    await queues.close();
    await storage.close();
    for (const child of children.values()) child.kill("SIGTERM");
    const exitCodes = Object.fromEntries(
      await Promise.all([...exited].map(async ([name, done]) => [name, await done] as const)),
    );
    return { services: services.map((s) => s.name), runId, exitCodes, reportKey };
  } finally {
    for (const child of children.values()) if (child.exitCode === null) child.kill("SIGKILL");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runComposeLocally();
  console.log(JSON.stringify(result, null, 2));
  process.exit(Object.values(result.exitCodes).every((code) => code === 0) ? 0 : 1);
}

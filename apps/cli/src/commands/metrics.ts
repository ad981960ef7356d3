import { loadConfig, stageNames } from "@hrpipe/contracts";
import { MetricsServer, openRedis, PipelineMetrics, redisNotReadyReason, StageQueues } from "@hrpipe/runtime";
import { UserError } from "../output.ts";

export interface MetricsCommandOptions {
  port: number;
  host: string;
}

/**
 * `hrpipe metrics`: the queue exporter. Every stage's backlog and job counts on /metrics, without
 * credentials, from a process that is always up: workers scaled to zero export nothing, and the
 * autoscaler must still see the backlog that should wake them.
 */
export async function metricsCommand(options: MetricsCommandOptions): Promise<undefined> {
  const config = loadConfig();
  if (!config.redisUrl)
    throw new UserError("REDIS_URL is not set; point it at the Redis server your workers use.");
  // A producer connection fails fast while Redis is away, so a scrape answers at once without counts.
  const connection = await openRedis(config.redisUrl, "producer");
  const queues = new StageQueues({ connection, prefix: config.queuePrefix });
  const server = new MetricsServer({
    metrics: new PipelineMetrics({ queues, stages: stageNames }),
    notReadyReason: () => redisNotReadyReason(connection),
    host: options.host,
    port: options.port,
  });
  const port = await server.start();
  process.stderr.write(`queue metrics on http://${options.host}:${port}/metrics, readiness on /healthz\n`);
  await new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await server.close();
  await queues.close();
  connection.disconnect();
  return undefined;
}

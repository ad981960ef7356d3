import { loadConfig } from "@hrpipe/contracts";
import { openRedis, openStorage, StageQueues } from "@hrpipe/runtime";
import { createDashboardApp, isLoopback, listen } from "../dashboard/server.ts";
import { UserError } from "../output.ts";

export interface DashboardCommandOptions {
  port: string;
  host: string;
  allowWrites?: boolean;
}

/** `hrpipe dashboard`: bull-board, the runs pages and Prometheus /metrics until SIGTERM. */
export async function dashboardCommand(options: DashboardCommandOptions): Promise<undefined> {
  const config = loadConfig();
  if (!config.redisUrl)
    throw new UserError("REDIS_URL is not set; point it at the Redis server your workers use.");
  if (!config.dashboard && (process.env.HRPIPE_DASHBOARD_USER || process.env.HRPIPE_DASHBOARD_PASSWORD)) {
    throw new UserError(
      "HRPIPE_DASHBOARD_USER and HRPIPE_DASHBOARD_PASSWORD go together; set both, or neither for a loopback-only dashboard.",
    );
  }
  if (options.allowWrites && !config.dashboard)
    throw new UserError(
      "--allow-writes needs HRPIPE_DASHBOARD_USER and HRPIPE_DASHBOARD_PASSWORD: without them any page in your browser could change the queues; set both.",
    );
  if (!isLoopback(options.host) && !config.dashboard) {
    throw new UserError(
      `refusing to serve the dashboard on ${options.host} without HRPIPE_DASHBOARD_USER and HRPIPE_DASHBOARD_PASSWORD; set both, or bind 127.0.0.1.`,
    );
  }
  const connection = await openRedis(config.redisUrl, "producer");
  const queues = new StageQueues({ connection, prefix: config.queuePrefix });
  const storage = openStorage(config.storageUrl, config);
  const app = createDashboardApp({
    queues,
    storage,
    connection,
    credentials: config.dashboard,
    allowWrites: options.allowWrites,
    allowedHosts: config.dashboardHosts,
  });
  const server = await listen(app, options.host, Number(options.port));
  const address = server.address() as { port: number };
  process.stderr.write(
    `dashboard on http://${options.host}:${address.port}/ (runs), /queues (bull-board${options.allowWrites ? "" : ", read-only"}), /metrics\n`,
  );
  const stop = () => server.close(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await new Promise(() => {});
  return undefined;
}

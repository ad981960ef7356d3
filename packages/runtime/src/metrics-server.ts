import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import { type PipelineMetrics, withinMs } from "./metrics.ts";

export interface MetricsServerOptions {
  metrics: PipelineMetrics;
  /** Resolves to why the process cannot take work now, or undefined when it can. */
  notReadyReason(): Promise<string | undefined>;
  host?: string;
  port: number;
}

/**
 * GET /metrics and GET /healthz on a port of their own, without credentials: what Prometheus (and so
 * the autoscaler) and the kubelet's probes read. Nothing here writes or reveals more than counts.
 */
export class MetricsServer {
  private server: Server | undefined;

  constructor(private readonly options: MetricsServerOptions) {}

  /** Starts listening; resolves to the port (the one asked for, or the one chosen for port 0). */
  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("GET only\n");
      } else if (path === "/metrics") {
        this.options.metrics.render().then(
          ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
          (error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${error.message}\n`),
        );
      } else if (path === "/healthz") {
        this.options
          .notReadyReason()
          .then((reason) =>
            res
              .writeHead(reason ? 503 : 200, { "content-type": "application/json" })
              .end(`${JSON.stringify(reason ? { ready: false, reason } : { ready: true })}\n`),
          );
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("this port serves /metrics and /healthz\n");
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host ?? "0.0.0.0", () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Why Redis cannot serve this process now, or undefined when it answers a PING within the limit:
 * a killed server shows as a connection that is not ready, a paused one as a PING with no answer.
 */
export async function redisNotReadyReason(connection: Redis, timeoutMs = 1_000): Promise<string | undefined> {
  if (connection.status !== "ready") return `Redis connection is ${connection.status}`;
  try {
    await withinMs(connection.ping(), timeoutMs);
    return undefined;
  } catch (error) {
    return `Redis did not answer PING (${(error as Error).message})`;
  }
}

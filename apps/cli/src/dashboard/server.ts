import { createHash, timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { joinKey, safeId, stageNames } from "@hrpipe/contracts";
import {
  listRunIds,
  PipelineMetrics,
  type Redis,
  redisNotReadyReason,
  runProgress,
  type StageQueues,
  type Storage,
} from "@hrpipe/runtime";
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import { runPage, runsPage } from "./pages.ts";

export interface DashboardOptions {
  queues: StageQueues;
  storage: Storage;
  connection: Redis;
  credentials?: { user: string; password: string };
  /** Lets bull-board retry, promote and remove jobs; read-only otherwise. Needs credentials. */
  allowWrites?: boolean;
  /**
   * Host names the dashboard answers to besides loopback's and the address it is bound to (an
   * ingress's name, a Service's): a request naming any other host is refused (DNS rebinding).
   */
  allowedHosts?: string[];
}

/** Equal in constant time, whatever the lengths: digests of both sides are compared. */
function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function basicAuth(credentials: { user: string; password: string }) {
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^basic\s+(\S*)\s*$/i.exec(req.headers.authorization ?? "");
    const [user = "", password = ""] = Buffer.from(match?.[1] ?? "", "base64")
      .toString()
      .split(/:(.*)/s);
    // Both fields are always compared, so the time taken tells nothing of which one was wrong.
    const userOk = sameText(user, credentials.user);
    const passwordOk = sameText(password, credentials.password);
    if (match && userOk && passwordOk) return next();
    res
      .set("WWW-Authenticate", 'Basic realm="hrpipe"')
      .status(401)
      .type("text/plain")
      .send("authentication required\n");
  };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** The host name of a Host header or an Origin's host, lower-cased, without port or IPv6 brackets. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(host);
  return (bracketed ? bracketed[1]! : host.replace(/:\d+$/, "")).toLowerCase();
}

/**
 * Answers only requests addressed to this dashboard by name: loopback's names, the address it is
 * bound to, and `allowedHosts`. A page on another site that rebinds its own name to 127.0.0.1 sends
 * its own name as Host, and is refused before it can read a job.
 */
export function knownHostOnly(
  allowedHosts: string[],
  remedy = "add it to HRPIPE_DASHBOARD_HOSTS",
  server = "this dashboard",
) {
  const configured = new Set(allowedHosts.map(hostName));
  return (req: Request, res: Response, next: NextFunction) => {
    const name = hostName(req.headers.host ?? "");
    const bound = hostName(req.socket.localAddress ?? "").replace(/^::ffff:/, "");
    if (isLoopback(name) || name === bound || configured.has(name)) return next();
    res
      .status(421)
      .type("text/plain")
      .send(`${server} does not answer to the host ${JSON.stringify(name.slice(0, 100))}; ${remedy}.\n`);
  };
}

/**
 * A request that changes state must come from the dashboard's own pages: its Origin must name a host
 * the dashboard answers to. A missing Origin is refused too (browsers send one with every such request).
 */
function sameOriginWrites(allowedHosts: string[]) {
  const configured = new Set(allowedHosts.map(hostName));
  return (req: Request, res: Response, next: NextFunction) => {
    if (["GET", "HEAD", "OPTIONS"].includes(req.method)) return next();
    const origin = req.headers.origin;
    let name: string | undefined;
    try {
      name = origin ? hostName(new URL(origin).host) : undefined;
    } catch {
      name = undefined;
    }
    const own = hostName(req.headers.host ?? "");
    if (name !== undefined && (name === own || configured.has(name))) return next();
    res
      .status(403)
      .type("text/plain")
      .send(
        `${req.method} needs an Origin of this dashboard (got ${JSON.stringify((origin ?? "none").slice(0, 100))}).\n`,
      );
  };
}

/**
 * The usual security headers and a CSP that runs no script but the page's own files: no input
 * reflected into a page can ever execute. The dashboard's, and `hrpipe live --http`'s.
 */
export function securityHeaders() {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Inline style attributes (bull-board, the report's figures) cannot run code.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Served over plain HTTP on a private network as often as behind TLS.
    strictTransportSecurity: false,
  });
}

/**
 * bull-board for every stage queue and the runs pages, behind basic auth when credentials are set;
 * /metrics and /healthz before it, since Prometheus and the kubelet carry no credentials and the
 * numbers there are counts only.
 */
export function createDashboardApp(options: DashboardOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(securityHeaders());
  app.get("/healthz", async (_req, res) => {
    const reason = await redisNotReadyReason(options.connection);
    if (reason) res.status(503).json({ ok: false, error: reason });
    else res.json({ ok: true });
  });
  const metrics = new PipelineMetrics({ queues: options.queues, stages: stageNames });
  app.get("/metrics", async (_req, res) => {
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });
  if (options.allowWrites && !options.credentials)
    throw new Error(
      "a dashboard that allows writes needs credentials (HRPIPE_DASHBOARD_USER and HRPIPE_DASHBOARD_PASSWORD).",
    );
  const allowedHosts = options.allowedHosts ?? [];
  app.use(knownHostOnly(allowedHosts));
  if (options.credentials) app.use(basicAuth(options.credentials));
  app.use(sameOriginWrites(allowedHosts));

  const board = new ExpressAdapter();
  board.setBasePath("/queues");
  createBullBoard({
    queues: stageNames.map(
      (stage) => new BullMQAdapter(options.queues.queue(stage), { readOnlyMode: !options.allowWrites }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "hrpipe" } },
  });
  const boardApp = board.getRouter() as express.Express;
  boardApp.disable("x-powered-by");
  app.use("/queues", boardApp);

  // What does not fit the runs/ layout is logged once, not on every page view.
  const skipped = new Set<string>();
  const runIds = async () =>
    (
      await listRunIds(options.storage, (folder, reason) => {
        if (skipped.has(folder)) return;
        skipped.add(folder);
        process.stderr.write(`dashboard: skipped ${folder}: ${reason}\n`);
      })
    ).reverse();
  const reportKey = (runId: string) => joinKey("runs", safeId(runId, "run id"), "reports", "report.html");

  app.get("/", (_req, res) => res.redirect("/runs"));
  app.get("/runs", async (_req, res) => {
    const runs = await Promise.all(
      (await runIds()).slice(0, 50).map(async (runId) => ({
        progress: await runProgress(options.queues, options.storage, runId),
        hasReport: await options.storage.exists(reportKey(runId)),
      })),
    );
    res.type("html").send(runsPage(runs));
  });
  app.get("/runs/:runId", async (req, res) => {
    const runId = safeId(req.params.runId, "run id");
    res
      .type("html")
      .send(
        runPage(
          await runProgress(options.queues, options.storage, runId),
          await options.storage.exists(reportKey(runId)),
        ),
      );
  });
  app.get("/runs/:runId/report.html", async (req, res) => {
    const key = reportKey(req.params.runId);
    if (!(await options.storage.exists(key)))
      return void res.status(404).type("text/plain").send(`${key} does not exist yet.\n`);
    res.type("html").send(await options.storage.get(key));
  });
  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type("text/plain")
      .send("no such page; the dashboard serves /runs, /queues and /metrics.\n");
  });
  // Errors are plain text: a message naming a bad run id must never be read as HTML.
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    // A client's own error (a malformed escape in the path, say) keeps its 4xx status.
    const clientStatus = error.status !== undefined && error.status >= 400 && error.status < 500;
    res
      .status(error.name === "UnsafeKeyError" ? 400 : clientStatus ? error.status! : 500)
      .type("text/plain")
      .send(`${error.message}\n`);
  });
  return app;
}

export function listen(app: express.Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once("error", reject);
  });
}

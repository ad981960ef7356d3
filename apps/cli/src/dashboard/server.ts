import { timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import {
  joinKey,
  PipelineMetrics,
  type Redis,
  redisNotReadyReason,
  runProgress,
  type StageQueues,
  type Storage,
  safeId,
  stageNames,
} from "@hrpipe/queue";
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import { runPage, runsPage } from "./pages.ts";

export interface DashboardOptions {
  queues: StageQueues;
  storage: Storage;
  connection: Redis;
  credentials?: { user: string; password: string };
  /** Lets bull-board retry, promote and remove jobs; read-only otherwise. */
  allowWrites?: boolean;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function basicAuth(credentials: { user: string; password: string }) {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? "";
    const [user, password] = Buffer.from(header.replace(/^Basic /, ""), "base64")
      .toString()
      .split(/:(.*)/s);
    if (
      header.startsWith("Basic ") &&
      sameText(user ?? "", credentials.user) &&
      sameText(password ?? "", credentials.password)
    )
      return next();
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

/**
 * bull-board for every stage queue and the runs pages, behind basic auth when credentials are set;
 * /metrics and /healthz before it, since Prometheus and the kubelet carry no credentials and the
 * numbers there are counts only.
 */
export function createDashboardApp(options: DashboardOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // Every response carries the usual security headers and a CSP that runs no script but the
  // dashboard's own files: no input reflected into a page can ever execute.
  app.use(
    helmet({
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
      // The dashboard is served over plain HTTP on a private network as often as behind TLS.
      strictTransportSecurity: false,
    }),
  );
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
  if (options.credentials) app.use(basicAuth(options.credentials));

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

  const runIds = async () =>
    (await options.storage.list("runs/"))
      .filter((o) => o.key.endsWith("/manifest.json"))
      .map((o) => o.key.split("/")[1]!)
      .sort()
      .reverse();
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
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res
      .status(error.name === "UnsafeKeyError" ? 400 : 500)
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

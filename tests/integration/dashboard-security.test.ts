import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRedisConnection, type Redis, reportVersion, StageQueues, writeManifest } from "@hrpipe/queue";
import { renderHtml } from "@hrpipe/report";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardApp, listen } from "../../apps/cli/src/dashboard/server.ts";
import { createTestServices, type TestServices } from "../harness/context.ts";

/** What an attacker would try to get a logged-in browser to run. */
const payloads = [
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "<svg/onload=alert(1)>",
  "javascript:alert(1)//<b>bold</b>",
];
const executable = /<script>alert|<img src=x onerror|<svg\/onload|<b>bold<\/b>/i;

function assertSafe(response: Response, body: string, what: string) {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("html")) expect(body, `${what} reflected executable HTML`).not.toMatch(executable);
  const csp = response.headers.get("content-security-policy") ?? "";
  expect(csp, `${what}: CSP`).toContain("script-src 'self'");
  expect(csp, `${what}: CSP`).toContain("object-src 'none'");
  expect(csp, `${what}: CSP`).toContain("frame-ancestors 'none'");
  expect(response.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(response.headers.get("x-frame-options"), what).toBe("SAMEORIGIN");
  expect(response.headers.get("x-powered-by"), what).toBeNull();
}

describe("the dashboard reflects no input as executable HTML", () => {
  let services: TestServices;
  let queues: StageQueues;
  let connection: Redis;
  const servers: Server[] = [];
  const bases: Record<"open" | "auth", string> = { open: "", auth: "" };
  const auth = { Authorization: `Basic ${Buffer.from("ops:s3cret").toString("base64")}` };

  beforeAll(async () => {
    services = await createTestServices("dashboard-security");
    connection = createRedisConnection(services.redisUrl, "producer");
    queues = new StageQueues({ connection, prefix: services.queuePrefix });
    // A run whose manifest carries payloads in every field a page shows: file names, ids, reasons.
    await writeManifest(services.storage, {
      version: 1,
      runId: "xss1",
      createdAt: new Date().toISOString(),
      state: "ingested",
      storageUrl: services.storage.url,
      datasetPrefix: "ds",
      options: {
        protocols: ["unseen-videos"],
        ecg: { column: 15, fps: 25, windowS: 10 },
        decode: { segmentS: 10 },
        face: { detector: "tiny", inputSize: 320, detectEvery: 8, cropSize: 128, keepChunks: false },
        train: { epochs: 1, batchSize: 32, learningRate: 0.001, validationSplit: 0.2, seed: 1 },
        eval: { windowS: 10, strideS: 1 },
      },
      participants: [],
      videos: [],
      artifacts: [],
      splits: {},
      reused: { labels: 0, faceSegments: 0 },
      notEvaluated: [],
      excluded: payloads.map((payload) => ({
        stage: "ingest" as const,
        participant: payload,
        videoId: payload,
        key: `ds/${payload}.mov`,
        reason: `ds/${payload}_face.mov is not named Pxx_<video>_face.mov: ${payload}`,
      })),
    });
    for (const [name, credentials] of [
      ["open", undefined],
      ["auth", { user: "ops", password: "s3cret" }],
    ] as const) {
      const app = createDashboardApp({ queues, storage: services.storage, connection, credentials });
      const server = await listen(app, "127.0.0.1", 0);
      servers.push(server);
      bases[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
  });

  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await queues.close();
    await services.cleanup();
  });

  const routes = (payload: string) => {
    const p = encodeURIComponent(payload);
    return [
      `/runs/${p}`,
      `/runs/${p}/report.html`,
      `/runs/xss1?q=${p}`,
      `/runs?run=${p}`,
      `/${p}`,
      `/queues/${p}`,
      `/queues/api/queues?activeQueue=${p}`,
      `/metrics?x=${p}`,
      `/healthz?x=${p}`,
      `/runs/xss1/report.html?x=${p}`,
    ];
  };

  it("with and without basic auth, every route answers payloads in paths and queries without executable HTML", async () => {
    let checked = 0;
    for (const payload of payloads) {
      for (const route of routes(payload)) {
        for (const [name, headers] of [
          ["open", {}],
          ["auth", auth],
          ["auth (no credentials)", {}],
        ] as const) {
          const base = name === "open" ? bases.open : bases.auth;
          const response = await fetch(`${base}${route}`, { headers, redirect: "manual" });
          assertSafe(response, await response.text(), `${name} GET ${route}`);
          checked++;
        }
      }
    }
    expect(checked).toBe(payloads.length * 10 * 3);
  });

  it("without credentials serves /metrics (with the backlog) and /healthz, and nothing else: UI, run pages and bull-board's write routes answer 401", async () => {
    // Raw BullMQ adds: the payload is not under test, the count is.
    for (let i = 0; i < 3; i++) await queues.queue("decode").add("decode", { n: i });
    const metrics = await fetch(`${bases.auth}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^hrpipe_queue_backlog\{queue="decode"\} 3$/m);
    expect((await fetch(`${bases.auth}/healthz`)).status).toBe(200);
    const closed: [string, string][] = [
      ["GET", "/"],
      ["GET", "/runs"],
      ["GET", "/runs/xss1"],
      ["GET", "/runs/xss1/report.html"],
      ["GET", "/queues"],
      ["GET", "/queues/api/queues"],
      ["PUT", "/queues/api/queues/decode/retry/failed"],
      ["PUT", "/queues/api/queues/decode/clean/completed"],
      ["PUT", "/queues/api/queues/decode/pause"],
      ["PUT", "/queues/api/queues/decode/empty"],
      ["PUT", "/queues/api/queues/decode/1/promote"],
      ["POST", "/queues/api/queues/decode/add"],
    ];
    for (const [method, route] of closed) {
      const response = await fetch(`${bases.auth}${route}`, { method, redirect: "manual" });
      expect(response.status, `${method} ${route}`).toBe(401);
    }
    expect(await queues.queue("decode").count()).toBe(3);
  });

  it("answers a bad run id with a plain-text 400 that names it", async () => {
    const response = await fetch(`${bases.open}/runs/${encodeURIComponent(payloads[0]!)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toContain("is not a safe storage name");
  });

  it("escapes file names and failure reasons on the run pages", async () => {
    for (const route of ["/runs", "/runs/xss1"]) {
      const response = await fetch(`${bases.auth}${route}`, { headers: auth });
      expect(response.status).toBe(200);
      const body = await response.text();
      assertSafe(response, body, route);
      if (route === "/runs/xss1") expect(body).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });

  it("escapes exclusions and video names in report.html", () => {
    const html = renderHtml(
      {
        reportVersion,
        runId: "xss1",
        createdAt: "2026-11-30",
        state: "failed",
        protocols: {},
        notEvaluated: [],
        exclusions: payloads.map((payload) => ({
          stage: "face" as const,
          participant: payload,
          reason: payload,
        })),
        layout: "videos",
        features: null,
        videos: payloads.map((payload) => ({
          subject: payload,
          video: payload,
          participant: "P01",
          videoId: "v",
          durationS: null,
          referenceHrBpm: null,
          excluded: payload,
          methods: {},
          figure: null,
        })),
        videoMetrics: {},
      },
      {},
    );
    expect(html).not.toMatch(executable);
    expect(html).toContain("&lt;svg/onload=alert(1)&gt;");
  });
});

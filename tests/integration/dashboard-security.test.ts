import { request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { reportVersion } from "@hrpipe/contracts";
import { renderHtml } from "@hrpipe/report";
import { createRedisConnection, listRunIds, type Redis, StageQueues, writeManifest } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardApp, listen } from "../../apps/cli/src/dashboard/server.ts";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { plannedRunManifest } from "../harness/manifests.ts";

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

/** An HTTP request with headers fetch() will not send (Host), answering the status and body. */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once("error", reject);
    req.end(options.body);
  });
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
      ...plannedRunManifest("xss1", services.storage.url),
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
          referenceHrv: null,
          methods: {},
          figure: null,
        })),
        videoMetrics: {},
        hrvAgreement: {},
        referenceKinds: [],
      },
      {},
    );
    expect(html).not.toMatch(executable);
    expect(html).toContain("&lt;svg/onload=alert(1)&gt;");
  });
});

describe("the dashboard answers only its own host and pages", () => {
  let services: TestServices;
  let queues: StageQueues;
  let connection: Redis;
  const servers: Server[] = [];
  let open = "";
  let writable = "";
  const auth = { Authorization: `basic ${Buffer.from("ops:s3cret").toString("base64")}` };

  beforeAll(async () => {
    services = await createTestServices("dashboard-hosts");
    connection = createRedisConnection(services.redisUrl, "producer");
    queues = new StageQueues({ connection, prefix: services.queuePrefix });
    const start = async (options: Partial<Parameters<typeof createDashboardApp>[0]>) => {
      const app = createDashboardApp({ queues, storage: services.storage, connection, ...options });
      const server = await listen(app, "127.0.0.1", 0);
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    open = await start({});
    writable = await start({
      credentials: { user: "ops", password: "s3cret" },
      allowWrites: true,
      allowedHosts: ["dash.example.org"],
    });
  });

  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await queues.close();
    await services.cleanup();
  });

  it("refuses a request naming another host (DNS rebinding) on the run pages and bull-board's API", async () => {
    for (const route of ["/runs", "/queues/api/queues", "/runs/x"]) {
      const rebound = await rawRequest(`${open}${route}`, { headers: { Host: "attacker.example:8080" } });
      expect(rebound.status, route).toBe(421);
      expect(rebound.body).toMatch(
        /does not answer to the host "attacker\.example"; add it to HRPIPE_DASHBOARD_HOSTS/,
      );
    }
    expect((await rawRequest(`${open}/runs`, { headers: { Host: "localhost:1234" } })).status).toBe(200);
    expect(
      (await rawRequest(`${writable}/runs`, { headers: { Host: "dash.example.org", ...auth } })).status,
    ).toBe(200);
    // Prometheus and the kubelet scrape by address: counts only, answered to any host.
    expect((await rawRequest(`${open}/metrics`, { headers: { Host: "10.0.0.7:3000" } })).status).toBe(200);
  });

  it("refuses a state-changing request whose Origin is foreign or missing, even with credentials", async () => {
    const add = `${writable}/queues/api/queues/ingest/add`;
    const body = JSON.stringify({ name: "ingest", data: {} });
    for (const origin of ["http://attacker.example", undefined]) {
      const response = await rawRequest(add, {
        method: "POST",
        headers: { ...auth, "Content-Type": "text/plain", ...(origin ? { Origin: origin } : {}) },
        body,
      });
      expect(response.status, String(origin)).toBe(403);
    }
    expect(await queues.queue("ingest").count()).toBe(0);
    const own = await rawRequest(add, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", Origin: writable },
      body,
    });
    expect(own.status).toBeLessThan(400);
    expect(await queues.queue("ingest").count()).toBe(1);
  });

  it("refuses --allow-writes without credentials", () => {
    expect(() =>
      createDashboardApp({ queues, storage: services.storage, connection, allowWrites: true }),
    ).toThrow(/allows writes needs credentials/);
  });

  it("takes the scheme 'basic' in any case, and refuses a wrong user with the right password", async () => {
    const credentialsFor = (user: string) => `Basic ${Buffer.from(`${user}:s3cret`).toString("base64")}`;
    expect((await fetch(`${writable}/runs`, { headers: auth })).status).toBe(200);
    expect(
      (await fetch(`${writable}/runs`, { headers: { Authorization: credentialsFor("ops") } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${writable}/runs`, { headers: { Authorization: credentialsFor("opz") } })).status,
    ).toBe(401);
  });

  it("answers a malformed escape with 400, not 500", async () => {
    const response = await rawRequest(`${open}/runs/%E0%A4%A`);
    expect(response.status).toBe(400);
  });

  it("lists runs/<id>/manifest.json only: an odd folder neither takes /runs down nor lists a run twice", async () => {
    const manifest = (runId: string) => plannedRunManifest(runId, services.storage.url);
    await services.storage.put("runs/run-a/manifest.json", JSON.stringify(manifest("run-a")));
    await services.storage.put("runs/run-a/reports/x/manifest.json", JSON.stringify(manifest("run-a")));
    // A key hrpipe would never write, put there by hand with the S3 client.
    const s3 = new S3Client({
      endpoint: services.config.s3.endpoint,
      region: services.config.s3.region,
      credentials: {
        accessKeyId: services.config.s3.accessKeyId!,
        secretAccessKey: services.config.s3.secretAccessKey!,
      },
      forcePathStyle: true,
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: services.bucket,
        Key: "hrpipe/runs/old run/manifest.json",
        Body: JSON.stringify(manifest("old run")),
      }),
    );
    s3.destroy();
    expect(await listRunIds(services.storage)).toEqual(["run-a"]);
    const skipped: string[] = [];
    expect(await listRunIds(services.storage, (folder) => skipped.push(folder))).toEqual(["run-a"]);
    expect(skipped).toEqual(["runs/old run"]);
    const page = await fetch(`${open}/runs`);
    expect(page.status).toBe(200);
    expect((await page.text()).match(/href="\/runs\/run-a"/g)).toHaveLength(1);
  });
});

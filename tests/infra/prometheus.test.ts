import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type StageName, stageNames } from "@hrpipe/contracts";
import { freePort } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createTestServices, type TestServices } from "../harness/context.ts";
import {
  onPath,
  startHrpipe,
  startWorkerProcess,
  type WorkerProcess,
  waitUntil,
} from "../harness/processes.ts";

const k8s = path.resolve(import.meta.dirname, "../../infra/k8s");

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: { containers: { args: string[] }[] };
    };
    triggers: { type: string; metadata: { query: string } }[];
    scaleTargetRef: { name: string };
  };
}

async function manifests(): Promise<Manifest[]> {
  const files = (await readdir(k8s)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  const texts = await Promise.all(files.map((f) => readFile(path.join(k8s, f), "utf8")));
  return texts.flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as Manifest));
}

/** A container's args with its listening port and interface replaced by a free loopback one. */
function onPort(args: string[], port: number): string[] {
  return args.map((arg, i) =>
    args[i - 1] === "--port" ? String(port) : args[i - 1] === "--host" ? "127.0.0.1" : arg,
  );
}

async function promtoolCheck(url: string): Promise<string> {
  const body = await (await fetch(url)).text();
  const check = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
  return `${check.status === 0 ? "ok" : `exit ${check.status}`}${check.stdout}${check.stderr}`;
}

// CI installs Prometheus (.ci/run) and must not skip this; elsewhere it runs where Prometheus is.
describe.runIf((onPath("prometheus") && onPath("promtool")) || process.env.CI)(
  "autoscaling reads the backlog through a real Prometheus, scraping what the manifests annotate",
  () => {
    let services: TestServices;
    let dir: string;
    const processes: WorkerProcess[] = [];
    let prometheusUrl: string;
    /** Each annotated Deployment's scrape URL, on the loopback port it was started on here. */
    const scraped = new Map<string, string>();
    let scaledObjects: Manifest[];

    beforeAll(async () => {
      services = await createTestServices("prometheus");
      dir = await mkdtemp(path.join(tmpdir(), "hrpipe-prometheus-"));
      const all = await manifests();
      // The pods' environment: the ConfigMap's settings, with this test's Redis, storage and prefix.
      const configMap = all.find((m) => m.kind === "ConfigMap") as unknown as {
        data: Record<string, string>;
      };
      const env = { ...configMap.data, ...services.env };
      scaledObjects = all.filter((m) => m.kind === "ScaledObject");
      // The stages start at zero replicas, as the manifests deploy them: only always-up Deployments
      // (replicas >= 1) with Prometheus annotations are running and scraped.
      const targets: { job: string; target: string; path: string }[] = [];
      for (const m of all.filter((m) => m.kind === "Deployment")) {
        const annotations = m.spec.template.metadata.annotations ?? {};
        if (annotations["prometheus.io/scrape"] !== "true") continue;
        if (((m.spec as unknown as { replicas?: number }).replicas ?? 1) === 0) continue;
        const port = await freePort();
        processes.push(startHrpipe(onPort(m.spec.template.spec.containers[0]!.args, port), env));
        const metricsPath = annotations["prometheus.io/path"] ?? "/metrics";
        targets.push({ job: m.metadata.name, target: `127.0.0.1:${port}`, path: metricsPath });
        scraped.set(m.metadata.name, `http://127.0.0.1:${port}${metricsPath}`);
      }
      expect(targets.map((t) => t.job)).toContain("hrpipe-metrics");
      const config = [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        "scrape_configs:",
        ...targets.map(
          (t) =>
            `  - { job_name: ${t.job}, metrics_path: ${t.path}, static_configs: [{ targets: ["${t.target}"] }] }`,
        ),
      ].join("\n");
      await writeFile(path.join(dir, "prometheus.yml"), config);
      const port = await freePort();
      prometheusUrl = `http://127.0.0.1:${port}`;
      const prometheus = spawn(
        "prometheus",
        [
          `--config.file=${path.join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${path.join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: "ignore" },
      );
      processes.push({
        child: prometheus,
        output: () => "",
        async stop() {
          prometheus.kill();
          return null;
        },
      });
      for (const [i, url] of [...scraped.values()].entries())
        await waitUntil(async () => (await fetch(url).catch(() => undefined))?.ok, url, 30_000).catch(
          (error: Error) => {
            throw new Error(`${error.message}: ${processes[i]!.output()}`);
          },
        );
      await waitUntil(
        async () => (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok,
        "Prometheus to be ready",
        30_000,
      );
    }, 90_000);

    afterAll(async () => {
      for (const p of processes) await p.stop();
      await services?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function query(promql: string): Promise<number | undefined> {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
      const value = body.data.result[0]?.value[1];
      return value === undefined ? undefined : Number(value);
    }

    it("each ScaledObject's exact PromQL returns the number of jobs waiting in its stage's queue", async () => {
      const queues = services.queues();
      // A different count per stage, so that a query reading the wrong queue cannot pass.
      const expected = new Map<StageName, number>(stageNames.map((stage, i) => [stage, 2 + i]));
      for (const [stage, count] of expected)
        for (let i = 0; i < count; i++) await queues.queue(stage).add(stage, { n: i });
      await queues.close();
      expect(scaledObjects).toHaveLength(stageNames.length);
      for (const scaled of scaledObjects) {
        const stage = scaled.spec.scaleTargetRef.name.replace(/^hrpipe-/, "") as StageName;
        const trigger = scaled.spec.triggers.find((t) => t.type === "prometheus")!;
        expect(trigger, scaled.metadata.name).toBeDefined();
        const want = expected.get(stage)!;
        const got = await waitUntil(
          async () => ((await query(trigger.metadata.query)) === want ? want : undefined),
          `${trigger.metadata.query} to return ${want}`,
          20_000,
          500,
        ).catch(async (error: Error) => {
          throw new Error(`${error.message}; it returned ${await query(trigger.metadata.query)}`);
        });
        expect(got, trigger.metadata.query).toBe(want);
      }
    }, 60_000);

    it("every scraped endpoint passes promtool check metrics, as does a worker's own", async () => {
      for (const [name, url] of scraped) expect(await promtoolCheck(url), name).toBe("ok");
      const port = await freePort();
      const worker = startWorkerProcess(["labels"], { ...services.env, HRPIPE_METRICS_PORT: String(port) });
      processes.push(worker);
      const url = `http://127.0.0.1:${port}/metrics`;
      await waitUntil(
        async () => (await fetch(url).catch(() => undefined))?.ok,
        "the worker's /metrics",
        30_000,
      );
      const body = await (await fetch(url)).text();
      for (const name of [
        "hrpipe_jobs_completed_total",
        "hrpipe_jobs_failed_total",
        "process_cpu_seconds_total",
      ])
        expect(body).toContain(name);
      // A worker's endpoint carries its own stage's backlog too, without credentials.
      expect(body).toMatch(/^hrpipe_queue_backlog\{queue="labels"\} \d+$/m);
      expect(await promtoolCheck(url)).toBe("ok");
    }, 60_000);
  },
);

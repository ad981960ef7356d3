import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { defineStage, runWorkerProcess } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { plannedRunManifest } from "../harness/manifests.ts";
import { waitUntil } from "../harness/processes.ts";

interface OtlpSpan {
  name: string;
  traceId: string;
  parentSpanId?: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT set: a worker process traces its jobs through BullMQ's telemetry to an
 * OTLP/HTTP collector (here a local server that records what it is sent), and the trace of a job
 * continues into the jobs its processor adds.
 */
describe("tracing jobs with OpenTelemetry", () => {
  let services: TestServices;
  let collector: Server;
  let endpoint: string;
  const exports: OtlpExport[] = [];

  beforeAll(async () => {
    services = await createTestServices("tracing");
    collector = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        if (req.url === "/v1/traces") exports.push(JSON.parse(body) as OtlpExport);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => collector.close(resolve));
    await services.cleanup();
  });

  it("exports a span per job processed, and a job added inside one continues its trace", async () => {
    let stop!: (signal: string) => void;
    const stopSignal = new Promise<string>((resolve) => {
      stop = resolve;
    });
    // Two stand-in stages: ingest plans one participant, whose labels job its links add, as a real plan does.
    const planned = {
      ...plannedRunManifest("traced", services.storage.url),
      participants: [{ participant: "P01", matKey: "ds/P01.mat" }],
    };
    const bindings = [
      defineStage("ingest", () => async (payload) => ({
        runId: payload.runId,
        state: payload.step === "plan" ? "planned" : "cancelled",
        reused: false as const,
        ...(payload.step === "plan" ? { manifest: planned } : {}),
      })),
      defineStage("labels", () => async (payload) => ({
        participant: payload.participant,
        hash: "h",
        labels: [],
        excluded: [],
        reused: false,
      })),
    ];
    const running = runWorkerProcess("hrpipe worker ingest ecg", bindings, {
      env: { ...services.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "hrpipe-test" },
      stopSignal,
    });
    const queues = services.queues();
    await queues.add("ingest", { runId: "traced", datasetPrefix: "ds" });
    await waitUntil(
      async () => (await queues.queue("labels").getCompletedCount()) === 1,
      "the labels job",
      30_000,
    );
    stop("test");
    await running;
    await queues.close();

    const spans = exports.flatMap((e) =>
      e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
    const serviceNames = exports.flatMap((e) =>
      e.resourceSpans.map(
        (r) => r.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue,
      ),
    );
    expect(serviceNames).toContain("hrpipe-test");
    const processIngest = spans.find((s) => /process/i.test(s.name) && s.name.includes("ingest"));
    const processLabels = spans.find((s) => /process/i.test(s.name) && s.name.includes("labels"));
    expect(processIngest, spans.map((s) => s.name).join(", ")).toBeDefined();
    expect(processLabels, spans.map((s) => s.name).join(", ")).toBeDefined();
    expect(processLabels!.traceId).toBe(processIngest!.traceId);
  }, 60_000);
});

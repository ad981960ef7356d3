import type { Telemetry } from "bullmq";

/** A process's OpenTelemetry tracing: what BullMQ's queues and workers report spans through. */
export interface Tracing {
  telemetry: Telemetry;
  /** Exports the spans still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The OTLP/HTTP collector, e.g. http://otel-collector:4318; tracing is off without it. */
  endpoint?: string;
  serviceName: string;
}

/**
 * Traces every job through BullMQ's own telemetry (bullmq-otel): a span per job added and processed,
 * with the trace context carried in the job, so a decode job's trace continues from the ingest job
 * that added it. Off (undefined) unless an endpoint is configured; the SDK is loaded only then.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  if (!options.endpoint) return undefined;
  const [
    api,
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    resources,
    sdk,
    otlp,
    otel,
  ] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("bullmq-otel"),
  ]);
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": options.serviceName }),
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter: new otlp.OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, "")}/v1/traces` }),
      }),
    ],
  });
  api.trace.setGlobalTracerProvider(provider);
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    telemetry: new otel.BullMQOtel("hrpipe"),
    async shutdown() {
      await provider.shutdown();
    },
  };
}

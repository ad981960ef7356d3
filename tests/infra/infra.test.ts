import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { configVariables, stageNames } from "@hrpipe/contracts";
import { composeServiceCommands, runComposeLocally } from "@hrpipe/infra";
import {
  createRedisConnection,
  createS3Client,
  metricNames,
  PipelineMetrics,
  StageQueues,
} from "@hrpipe/runtime";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";

const infra = path.resolve(import.meta.dirname, "../../infra");

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? yamlFiles(path.join(dir, entry.name))
      : /\.ya?ml$/.test(entry.name)
        ? [path.join(dir, entry.name)]
        : [],
  );
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

const documents: { file: string; doc: K8sObject }[] = yamlFiles(path.join(infra, "k8s")).flatMap((file) =>
  parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { file, doc: d.toJS() as K8sObject };
  }),
);

/** Environment variable names a container reads, and the Secrets and ConfigMaps it reads them from. */
function containerEnv(deployment: K8sObject) {
  const containers = (
    deployment.spec as {
      template: {
        spec: {
          containers: {
            image: string;
            args: string[];
            env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
            envFrom?: { configMapRef?: { name: string } }[];
          }[];
        };
      };
    }
  ).template.spec.containers;
  return containers[0]!;
}

describe("infra/: compose and Kubernetes definitions", () => {
  it("every YAML file parses", () => {
    for (const file of yamlFiles(infra))
      for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) expect(doc.errors, file).toEqual([]);
  });

  it("each stage has a Deployment running `hrpipe worker <stage>` and a ScaledObject targeting it", () => {
    for (const stage of stageNames) {
      const deployment = documents.find(
        (d) => d.doc.kind === "Deployment" && d.doc.metadata.name === `hrpipe-${stage}`,
      );
      expect(deployment, `Deployment hrpipe-${stage}`).toBeDefined();
      expect(containerEnv(deployment!.doc).args).toEqual(["worker", stage]);
      const scaled = documents.find(
        (d) =>
          d.doc.kind === "ScaledObject" &&
          (d.doc.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === `hrpipe-${stage}`,
      );
      expect(scaled, `ScaledObject for hrpipe-${stage}`).toBeDefined();
    }
    const kustomization = documents.find((d) => d.file.endsWith("kustomization.yaml"))!.doc as unknown as {
      resources: string[];
    };
    for (const { file } of documents.filter(
      (d) => !d.file.endsWith("kustomization.yaml") && !d.file.endsWith("secrets.example.yaml"),
    )) {
      expect(kustomization.resources).toContain(path.basename(file));
    }
  });

  it("images, env and secret names agree with the config schema of packages/contracts", () => {
    const known = new Set<string>([...configVariables, "HRPIPE_DASHBOARD_USER", "HRPIPE_DASHBOARD_PASSWORD"]);
    const configMap = documents.find((d) => d.doc.kind === "ConfigMap")!.doc;
    for (const key of Object.keys(configMap.data!)) expect(known.has(key), `ConfigMap key ${key}`).toBe(true);
    const secrets = documents
      .filter((d) => d.doc.kind === "Secret")
      .map((d) => d.doc as unknown as { metadata: { name: string }; stringData: Record<string, string> });
    for (const { doc } of documents.filter((d) => d.doc.kind === "Deployment")) {
      const container = containerEnv(doc);
      expect(container.image).toMatch(/^hrpipe(-gpu)?:/);
      expect(container.envFrom?.map((e) => e.configMapRef?.name)).toEqual(["hrpipe-config"]);
      for (const variable of container.env ?? []) {
        expect(known.has(variable.name), `${doc.metadata.name} env ${variable.name}`).toBe(true);
        const ref = variable.valueFrom?.secretKeyRef;
        // Credentials come from Secrets, never from literal values in the manifests.
        expect(ref, `${doc.metadata.name} ${variable.name} from a Secret`).toBeDefined();
        const secret = secrets.find((s) => s.metadata.name === ref!.name);
        expect(secret?.stringData[ref!.key], `Secret ${ref!.name} key ${ref!.key}`).toBeDefined();
      }
    }
    for (const service of composeServiceCommands(path.join(infra, "docker-compose.yml"), {
      HRPIPE_DASHBOARD_PASSWORD: "x",
    })) {
      for (const key of Object.keys(service.env))
        expect(known.has(key), `compose ${service.name} ${key}`).toBe(true);
    }
    const composeStages = composeServiceCommands(path.join(infra, "docker-compose.yml"), {
      HRPIPE_DASHBOARD_PASSWORD: "x",
    })
      .filter((s) => s.args[0] === "worker")
      .map((s) => s.args[1]);
    expect(composeStages.sort()).toEqual([...stageNames].sort());
  });

  it("every manifest validates against its Kubernetes or KEDA schema", () => {
    const models: Record<string, new (data: never) => { validate(): void }> = {
      "apps/v1/Deployment": Deployment,
      "apps/v1/StatefulSet": StatefulSet,
      "v1/Service": Service,
      "v1/ConfigMap": ConfigMap,
      "v1/Secret": Secret,
      "keda.sh/v1alpha1/ScaledObject": ScaledObject,
    };
    const validated = documents
      .filter(({ file }) => !file.endsWith("kustomization.yaml"))
      .map(({ file, doc }) => {
        const Model = models[`${doc.apiVersion}/${doc.kind}`];
        expect(Model, `${file}: a schema for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
        expect(() => new Model!(doc as never).validate(), `${file} ${doc.metadata.name}`).not.toThrow();
        return doc.kind;
      });
    expect(validated.filter((kind) => kind === "ScaledObject")).toHaveLength(stageNames.length);
  });

  it("README.md's deployment section names every manifest and each ScaledObject's exact query", () => {
    const readme = readFileSync(path.resolve(infra, "../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Scaling out"), readme.indexOf("## Benchmarks"));
    const asTemplate = (text: string) =>
      stageNames.reduce((t, stage) => t.replace(new RegExp(`\\b${stage}\\b`), "<stage>"), text);
    for (const { file, doc } of documents.filter((d) => !/kustomization|secrets\.example/.test(d.file))) {
      const name = path.basename(file);
      expect(section.includes(name) || section.includes(asTemplate(name)), name).toBe(true);
      if (doc.kind === "ScaledObject")
        for (const trigger of (doc.spec as { triggers: { metadata: { query: string } }[] }).triggers)
          expect(section).toContain(asTemplate(trigger.metadata.query));
    }
  });

  it("README.md's GPU install command is the one infra/Dockerfile.gpu runs", () => {
    const readme = readFileSync(path.resolve(infra, "../README.md"), "utf8");
    const gpus = readme.slice(readme.indexOf("## GPUs"));
    const command = /^ {4}(\S.*)$/m.exec(gpus)?.[1];
    expect(command).toBeDefined();
    expect(readFileSync(path.join(infra, "Dockerfile.gpu"), "utf8")).toMatch(
      new RegExp(`^RUN ${command!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"),
    );
  });

  it("every metric a ScaledObject reads is one the queue exporter serves", async () => {
    const queues = new StageQueues({
      connection: createRedisConnection(inject("redisUrl"), "producer"),
      prefix: `t-metrics-${process.pid}`,
    });
    const exposition = (await new PipelineMetrics({ queues, stages: stageNames }).render()).body;
    await queues.close();
    // The first scrape already carries every queue series, not the previous scrape's.
    for (const stage of stageNames)
      expect(exposition).toMatch(
        new RegExp(`^hrpipe_queue_jobs\\{queue="${stage}",state="waiting"\\} 0$`, "m"),
      );
    for (const { doc } of documents.filter((d) => d.doc.kind === "ScaledObject")) {
      const triggers = (doc.spec as { triggers: { metadata: { query: string } }[] }).triggers;
      for (const trigger of triggers) {
        const metrics = [...trigger.metadata.query.matchAll(/([a-z_:][a-z0-9_:]*)\{/g)].map((m) => m[1]!);
        expect(metrics.length).toBeGreaterThan(0);
        for (const metric of metrics) {
          expect(Object.values(metricNames)).toContain(metric);
          const queue = /queue="([a-z]+)"/.exec(trigger.metadata.query)?.[1];
          expect(exposition).toMatch(new RegExp(`^${metric}\\{queue="${queue}"\\} \\d+$`, "m"));
        }
      }
    }
  });
});

describe("the compose services' commands, run without Docker", () => {
  it("complete a small ingest against local Redis and S3, then drain on SIGTERM with exit code 0", async () => {
    const s3 = inject("s3");
    const bucket = `compose-${process.pid}`;
    await createS3Client({ ...s3, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));
    const result = await runComposeLocally({
      ...process.env,
      REDIS_URL: inject("redisUrl"),
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      COMPOSE_BUCKET: bucket,
      HRPIPE_QUEUE_PREFIX: `t-compose-${process.pid}`,
    });
    expect(result.services.sort()).toEqual([
      "dashboard",
      "decode",
      "eval",
      "face",
      "features",
      "ingest",
      "labels",
      "metrics",
      "neural",
      "report",
      "train",
    ]);
    expect(result.exitCodes).toEqual(Object.fromEntries(result.services.map((s) => [s, 0])));
  }, 420_000);
});

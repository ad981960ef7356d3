import { describe, expect, it } from "vitest";
import { addresses, contentHash, formatVersions } from "../src/addresses.ts";
import { ConfigError, loadConfig, redactUrl } from "../src/config.ts";
import { artifactKeys, normaliseParticipant, safeId, UnsafeKeyError } from "../src/keys.ts";
import {
  decodeOptionsSchema,
  faceOptionsSchema,
  featuresOptionsSchema,
  labelOptionsSchema,
  parsePayload,
  trainOptionsSchema,
} from "../src/payloads.ts";

describe("config", () => {
  it("fills defaults and derives path-style for custom endpoints", () => {
    const config = loadConfig({ S3_ENDPOINT: "http://127.0.0.1:9000" });
    expect(config.storageUrl).toBe("file://./.hrpipe");
    expect(config.queuePrefix).toBe("hrpipe");
    expect(config.s3.forcePathStyle).toBe(true);
    expect(loadConfig({}).s3.forcePathStyle).toBe(false);
  });

  it("takes the bucket's region from S3_REGION, else the AWS SDK's AWS_REGION or AWS_DEFAULT_REGION, else us-east-1", () => {
    expect(loadConfig({}).s3.region).toBe("us-east-1");
    expect(loadConfig({ AWS_DEFAULT_REGION: "eu-north-1" }).s3.region).toBe("eu-north-1");
    expect(loadConfig({ AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-north-1" }).s3.region).toBe(
      "eu-west-1",
    );
    expect(loadConfig({ S3_REGION: "ap-south-1", AWS_REGION: "eu-west-1" }).s3.region).toBe("ap-south-1");
  });

  it("names the variable at fault in one sentence", () => {
    expect(() => loadConfig({ REDIS_URL: "localhost:6379" })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: "localhost:6379" })).toThrow(
      /^REDIS_URL \(not shown: it may hold a credential\) is not valid: .*redis:\/\//,
    );
    expect(() => loadConfig({ STORAGE_URL: "ftp://x" })).toThrow(/^STORAGE_URL=.*s3:\/\/bucket/);
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(/^LOG_LEVEL=.*one of fatal/);
    expect(() => loadConfig({ S3_FORCE_PATH_STYLE: "maybe" })).toThrow(/^S3_FORCE_PATH_STYLE=/);
  });
});

describe("secrets in messages", () => {
  it("never prints a secret-bearing value that failed to parse", () => {
    for (const [name, value] of [
      ["REDIS_URL", "redis://default:hunter2@127.0.0.1:1/ "],
      ["OTEL_EXPORTER_OTLP_ENDPOINT", "collector?token=hunter2"],
      ["S3_ENDPOINT", "//admin:hunter2@s3.example:9000"],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), name).toThrow(new RegExp(`^${name} \\(not shown`));
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        expect((error as Error).message).not.toContain("hunter2");
      }
    }
  });

  it("redacts passwords in user info and in query strings alike", () => {
    expect(redactUrl("redis://default:hunter2@127.0.0.1:6379/0")).toBe(
      "redis://default:***@127.0.0.1:6379/0",
    );
    expect(redactUrl("redis://:hunter2@redis")).toBe("redis://:***@redis");
    expect(redactUrl("redis://127.0.0.1:1/?password=hunter2&db=2")).toBe(
      "redis://127.0.0.1:1/?password=***&db=2",
    );
    expect(redactUrl("http://otel:4318/?api_key=hunter2")).toBe("http://otel:4318/?api_key=***");
    expect(redactUrl("not a url ?token=hunter2 ")).not.toContain("hunter2");
  });
});

describe("keys", () => {
  it("normalises participant ids", () => {
    expect(normaliseParticipant("P1")).toBe("P01");
    expect(normaliseParticipant("p01")).toBe("P01");
    expect(normaliseParticipant("P040")).toBe("P40");
    expect(() => normaliseParticipant("X1")).toThrow(UnsafeKeyError);
  });

  it("rejects unsafe ids and builds the design's artifact keys", () => {
    for (const bad of ["..", "a/b", "", ".hidden", "a\tb", "x".repeat(129)])
      expect(() => safeId(bad)).toThrow(UnsafeKeyError);
    expect(artifactKeys.labels("abc", "P01", "N1")).toBe("labels/abc/P01/N1.json");
    expect(artifactKeys.faces("h", "P01", "4", 3)).toBe("faces/h/P01/4/0003.safetensors");
    expect(() => artifactKeys.manifest("../x")).toThrow(/run id/);
  });

  it("hashes parts independently of key order", () => {
    expect(contentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(contentHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});

describe("content addresses", () => {
  const sha = (c: string) => c.repeat(64);
  const decode = decodeOptionsSchema.parse({});
  const face = faceOptionsSchema.parse({});
  const facesInput = { sourceSha256: sha("a"), decode, face };

  it("faces: source bytes, decode options, face options and both format versions each change it", () => {
    const base = addresses.faces(facesInput);
    const variants = [
      addresses.faces({ ...facesInput, sourceSha256: sha("b") }),
      addresses.faces({ ...facesInput, decode: { segmentS: 7 } }),
      addresses.faces({ ...facesInput, face: { ...face, detectEvery: 4 } }),
      addresses.faces({ ...facesInput, face: { ...face, detector: "ssd" } }),
      addresses.faces({ ...facesInput, face: { ...face, cropSize: 64 } }),
      addresses.faces({ ...facesInput, face: { ...face, crops: false } }),
      addresses.faces(facesInput, { ...formatVersions, chunks: formatVersions.chunks + 1 }),
      addresses.faces(facesInput, { ...formatVersions, faces: formatVersions.faces + 1 }),
    ];
    for (const variant of variants) expect(variant).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
    // Unchanged inputs give the same address, and keepChunks (a clean-up choice) changes no shard.
    expect(addresses.faces({ ...facesInput })).toBe(base);
    expect(addresses.faces({ ...facesInput, face: { ...face, keepChunks: true } })).toBe(base);
    // Crops kept (the default) is the address shards had before the option existed.
    const { crops: _, ...withoutCropsOption } = face;
    expect(face.crops).toBe(true);
    expect(addresses.faces({ ...facesInput, face: withoutCropsOption as typeof face })).toBe(base);
    // Versions of other families do not invalidate faces.
    expect(addresses.faces(facesInput, { ...formatVersions, labels: 99, head: 99 })).toBe(base);
  });

  it("labels: source bytes, ECG options and the labels version each change it", () => {
    const options = labelOptionsSchema.parse({});
    const base = addresses.labels({ sourceSha256: sha("a"), options });
    for (const variant of [
      addresses.labels({ sourceSha256: sha("b"), options }),
      addresses.labels({ sourceSha256: sha("a"), options: { ...options, windowS: 24 } }),
      addresses.labels({ sourceSha256: sha("a"), options: { ...options, column: 14 } }),
      addresses.labels({ sourceSha256: sha("a"), options: { ...options, offsetS: 1.5 } }),
      addresses.labels({ sourceSha256: sha("a"), options, reading: { kind: "ppg", video: { fps: 30 } } }),
      addresses.labels({ sourceSha256: sha("a"), options }, { ...formatVersions, labels: 99 }),
    ])
      expect(variant).not.toBe(base);
    expect(addresses.labels({ sourceSha256: sha("a"), options: { ...options } })).toBe(base);
  });

  it("features and heads: every input, the backbone and their versions change them", () => {
    const shard = { facesKey: "faces/h/P01/4/0000.safetensors", weightsHash: "w" };
    const featureOptions = featuresOptionsSchema.parse({});
    const features = addresses.features({ ...shard, options: featureOptions });
    for (const variant of [
      { ...shard, facesKey: "faces/g/P01/4/0000.safetensors", options: featureOptions },
      { ...shard, weightsHash: "v", options: featureOptions },
      { ...shard, options: { ...featureOptions, fps: 5 } },
      { ...shard, options: { ...featureOptions, dtype: "float16" as const } },
    ])
      expect(addresses.features(variant)).not.toBe(features);
    expect(
      addresses.features({ ...shard, options: featureOptions }, { ...formatVersions, features: 99 }),
    ).not.toBe(features);
    const options = trainOptionsSchema.parse({});
    const trainSet = [
      { labelsKey: "labels/l/P01/4.json", featuresKeys: ["features/f/P01/4/0000.safetensors"] },
    ];
    const head = addresses.head({ trainSet, weightsHash: "w", options });
    for (const variant of [
      addresses.head({ trainSet: [], weightsHash: "w", options }),
      addresses.head({ trainSet, weightsHash: "v", options }),
      addresses.head({ trainSet, weightsHash: "w", options: { ...options, epochs: 3 } }),
      addresses.head({ trainSet, weightsHash: "w", options: { ...options, learningRate: 1e-4 } }),
      addresses.head({ trainSet, weightsHash: "w", options }, { ...formatVersions, head: 2 }),
      addresses.head({ trainSet, weightsHash: "w", options }, { ...formatVersions, features: 99 }),
    ])
      expect(variant).not.toBe(head);
  });
});

describe("payload schemas", () => {
  it("fill stage defaults and name the bad field", () => {
    const ecg = parsePayload("labels", {
      runId: "r1",
      participant: "P01",
      matKey: "d/Data_Preprocessed_P01.mat",
    });
    expect(ecg.options).toEqual({ column: 15, fps: 25, windowS: 10, offsetS: 0 });
    expect(() => parsePayload("decode", { runId: "r1", participant: "P01", videoId: "4" })).toThrow(
      /^decode job payload is invalid: videoKey: /,
    );
    expect(() => parsePayload("train", { runId: "r1", protocol: "leave-one-out" })).toThrow(/protocol: /);
  });
});

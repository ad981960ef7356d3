import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";
import { artifactHash, artifactKeys, normaliseParticipant, safeId, UnsafeKeyError } from "../src/keys.ts";
import { parsePayload } from "../src/payloads.ts";

describe("config", () => {
  it("fills defaults and derives path-style for custom endpoints", () => {
    const config = loadConfig({ S3_ENDPOINT: "http://127.0.0.1:9000" });
    expect(config.storageUrl).toBe("file://./.hrpipe");
    expect(config.queuePrefix).toBe("hrpipe");
    expect(config.s3.forcePathStyle).toBe(true);
    expect(loadConfig({}).s3.forcePathStyle).toBe(false);
  });

  it("names the variable at fault in one sentence", () => {
    expect(() => loadConfig({ REDIS_URL: "localhost:6379" })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: "localhost:6379" })).toThrow(
      /^REDIS_URL="localhost:6379" is not valid: .*redis:\/\//,
    );
    expect(() => loadConfig({ STORAGE_URL: "ftp://x" })).toThrow(/^STORAGE_URL=.*s3:\/\/bucket/);
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(/^LOG_LEVEL=.*one of fatal/);
    expect(() => loadConfig({ S3_FORCE_PATH_STYLE: "maybe" })).toThrow(/^S3_FORCE_PATH_STYLE=/);
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

  it("hashes inputs, options and format version independently of key order", () => {
    const a = artifactHash({
      input: { key: "x", size: 1 },
      options: { fps: 25, windowS: 10 },
      formatVersion: 1,
    });
    expect(
      artifactHash({ input: { size: 1, key: "x" }, options: { windowS: 10, fps: 25 }, formatVersion: 1 }),
    ).toBe(a);
    expect(
      artifactHash({ input: { key: "x", size: 1 }, options: { fps: 25, windowS: 24 }, formatVersion: 1 }),
    ).not.toBe(a);
    expect(
      artifactHash({ input: { key: "x", size: 1 }, options: { fps: 25, windowS: 10 }, formatVersion: 2 }),
    ).not.toBe(a);
  });
});

describe("payload schemas", () => {
  it("fill stage defaults and name the bad field", () => {
    const ecg = parsePayload("ecg", {
      runId: "r1",
      participant: "P01",
      matKey: "d/Data_Preprocessed_P01.mat",
    });
    expect(ecg.options).toEqual({ column: 15, fps: 25, windowS: 10 });
    expect(() => parsePayload("decode", { runId: "r1", participant: "P01", videoId: "4" })).toThrow(
      /^decode job payload is invalid: videoKey: /,
    );
    expect(() => parsePayload("train", { runId: "r1", protocol: "leave-one-out" })).toThrow(/protocol: /);
  });
});

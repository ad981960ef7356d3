import { describe, expect, it } from "vitest";
import { plannedRunManifest } from "../../../tests/harness/manifests.ts";
import { runManifestSchema } from "../src/manifest.ts";

describe("manifests written before the labels stage had its name", () => {
  it("read their ecg options and ecg exclusions as the labels stage's", () => {
    const { labels, ...options } = plannedRunManifest("old", "file:///s").options;
    const written = {
      ...plannedRunManifest("old", "file:///s"),
      options: { ...options, ecg: { ...labels, windowS: 24 } },
      excluded: [{ stage: "ecg", participant: "P08", videoId: "N1", reason: "joined_data is empty" }],
    };
    const read = runManifestSchema.parse(JSON.parse(JSON.stringify(written)));
    expect(read.options.labels).toEqual({ ...labels, windowS: 24 });
    expect(read.options).not.toHaveProperty("ecg");
    expect(read.excluded[0]!.stage).toBe("labels");
  });
});

import { estimatorNames, type RunReport, reportVersion } from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { renderHtml } from "../src/html.ts";

function run(
  referenceKinds: RunReport["referenceKinds"],
  methods: (typeof estimatorNames)[number][],
): RunReport {
  const estimate = { hrBpm: 70, windows: [] };
  return {
    reportVersion,
    runId: "r1",
    createdAt: "2026-12-05",
    state: "done",
    protocols: {},
    notEvaluated: [],
    exclusions: [],
    layout: "ubfc-rppg",
    features: null,
    videos: [
      {
        subject: "s1",
        video: "s1/vid.mp4",
        participant: "s1",
        videoId: "vid",
        durationS: 60,
        referenceHrBpm: referenceKinds.length > 0 ? 70 : null,
        excluded: null,
        methods: Object.fromEntries(methods.map((name) => [name, estimate])),
        figure: null,
      },
    ],
    videoMetrics: {},
    referenceKinds,
  };
}

const opening = (html: string) => /<p>Report version [^<]*<\/p>/.exec(html)![0];

describe("report.html says what the run measured and against what", () => {
  it("names every estimator of a PPG-referenced run and the PPG, not the ECG", () => {
    const methods = estimatorNames.filter((name) => name !== "cnn");
    const text = opening(renderHtml(run(["ppg"], methods), {}));
    expect(text).toContain("POS, CHROM, OMIT, LGI, PBV, ICA and GREEN: classical rPPG");
    expect(text).toContain("against the PPG (pulse oximeter)");
    expect(text).not.toMatch(/ECG|CNN/);
  });

  it("names the ECG where the run has one, and says so where there is no reference", () => {
    expect(opening(renderHtml(run(["ecg"], ["pos"]), {}))).toContain("POS: classical rPPG");
    expect(opening(renderHtml(run(["ecg"], ["pos"]), {}))).toContain("against the ECG over the same window");
    expect(opening(renderHtml(run([], ["pos", "chrom"]), {}))).toContain(
      "The videos have no reference: heart rates are reported, errors are not.",
    );
  });
});

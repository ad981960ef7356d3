import {
  estimatorNames,
  ingestPayloadSchema,
  type ProtocolReport,
  type RunReport,
  reportVersion,
  runOptionsOf,
} from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { hrvTables, metricsRows, noCnnNote, renderHtml, tuningNotes } from "../src/html.ts";

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
        referenceHrv: null,
        methods: Object.fromEntries(methods.map((name) => [name, estimate])),
        figure: null,
      },
    ],
    videoMetrics: {},
    hrvAgreement: {},
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

/** A protocol scored on 12 windows by the rPPG methods only: a run without --cnn. */
function rppgOnlyProtocol(): ProtocolReport {
  const methods = estimatorNames.filter((name) => name !== "cnn");
  const agreement = { n: 12, rmse: 3, mae: 2, mape: 3, pearsonR: 0.9, bias: 0.5, loaLower: -5, loaUpper: 6 };
  const band = { bands: ["<60", "60-80", "80-100", ">=100"], confusion: [], accuracy: 0.8, macroF1: 0.7 };
  const each = <T>(value: T) => Object.fromEntries(methods.map((name) => [name, value])) as never;
  return {
    reportVersion,
    runId: "r1",
    protocol: "unseen-participants",
    createdAt: "2026-12-05",
    split: { train: ["s1/vid"], test: ["s2/vid"], rule: "leave participants out" },
    options: runOptionsOf(ingestPayloadSchema.parse({ runId: "r1", datasetPrefix: "ds" })),
    cnn: null,
    networks: [],
    windows: { count: 12, windowS: 10, strideS: 1 },
    metrics: {
      participants: [{ participant: "s2", frames: null, windows: each(agreement) }],
      overall: { frames: null, windows: each(agreement), lowQualityWindows: {}, windowBands: each(band) },
      headline: { cnnFrames: null, windows: each({ meanRmse: 3, medianRmse: 3 }) },
    },
    published: { meanRmse: 27.17 },
    exclusions: [],
    figures: {},
  };
}

describe("a run without a CNN (--cnn none, the default)", () => {
  it("ranks the methods without a CNN row and says in one line why it is absent and how to add it", () => {
    const protocol = rppgOnlyProtocol();
    const rows = metricsRows(protocol);
    expect(rows.map((row) => row[0])).toHaveLength(7);
    expect(rows.some((row) => /CNN/.test(row[0]!))).toBe(false);
    const html = renderHtml({ ...run(["ppg"], ["pos"]), protocols: { "unseen-participants": protocol } }, {});
    expect(html).toContain("No CNN row: this run did not ask for");
    expect(noCnnNote).toMatch(/--cnn densenet/);
    expect(noCnnNote).toMatch(/HRPIPE_DENSENET_WEIGHTS/);
    expect(html).not.toMatch(/labelled test frames|Head: best validation epoch/);
  });
});

describe("networks and HRV in the report", () => {
  it("ranks a network and its fine-tuned form with the methods, and says what was trained", () => {
    const protocol = rppgOnlyProtocol();
    const agreement = { n: 12, rmse: 9, mae: 7, mape: 8, pearsonR: 0.4, bias: 5, loaLower: -9, loaUpper: 19 };
    const band = { bands: ["<60", "60-80", "80-100", ">=100"], confusion: [], accuracy: 0.5, macroF1: 0.4 };
    for (const name of ["physnet-pure", "physnet-pure-ft"]) {
      protocol.metrics.overall.windows[name] = agreement;
      protocol.metrics.participants[0]!.windows[name] = agreement;
      protocol.metrics.overall.windowBands[name] = band;
      protocol.metrics.headline.windows[name] = { meanRmse: 9, medianRmse: 9 };
    }
    protocol.networks = [
      {
        name: "physnet-pure",
        architecture: "physnet",
        trainedOn: "PURE",
        tuned: {
          layers: ["upsample2.1", "ConvBlock10"],
          loss: "negative Pearson correlation over 128-frame chunks",
          target: "the reference PPG waveform (4 videos), DiffNormalized",
          bestEpoch: 31,
          epochs: 61,
          trainVideos: 3,
          validationVideos: 1,
          trainChunks: 40,
          framesPerS: 2_000_000,
          device: "cpu",
          from: null,
        },
      },
    ];
    expect(metricsRows(protocol).map((row) => row[0])).toEqual(
      expect.arrayContaining(["8. physnet-pure (windows)", "9. physnet-pure-ft (windows)"]),
    );
    expect(tuningNotes(protocol)).toEqual([
      "physnet-pure-ft: upsample2.1, ConvBlock10 trained (the rest as imported) on 3 videos, 1 video held out for early stopping; negative Pearson correlation over 128-frame chunks against the reference PPG waveform (4 videos), DiffNormalized; best epoch 31 of 61, 40 chunks, 2,000,000 frames/s on cpu.",
    ]);
    const html = renderHtml({ ...run(["ppg"], ["pos"]), protocols: { "unseen-participants": protocol } }, {});
    expect(html).toContain("physnet-pure-ft: upsample2.1, ConvBlock10 trained");
  });

  it("sets the reference's RMSSD beside each estimator's, and ranks their beats' agreement", () => {
    const report = run(["ppg"], ["pos", "chrom"]);
    const hrv = (rmssdMs: number) => ({
      whole: { meanIbiMs: 800, sdnnMs: 40, rmssdMs, pnn50: 0.2, intervals: 70, flaggedShare: 0.1 },
      spans: [],
    });
    report.videos[0]!.referenceHrv = { ...hrv(30), beats: 71 };
    report.videos[0]!.methods.pos = { hrBpm: 70, windows: [], hrv: hrv(45) };
    report.videos[0]!.methods.chrom = { hrBpm: 70, windows: [], hrv: hrv(38) };
    report.hrvAgreement = {
      pos: { videos: 1, sensitivity: 0.9, positivePredictivity: 0.93, meanIbiErrorMs: 3, rmssdErrorMs: 15 },
      chrom: { videos: 1, sensitivity: 0.88, positivePredictivity: 0.9, meanIbiErrorMs: 4, rmssdErrorMs: 8 },
    };
    const tables = hrvTables(report)!;
    expect(tables.agreement.rows.map((row) => row[0])).toEqual(["CHROM", "POS"]);
    expect(tables.videos.rows[0]!.slice(2)).toEqual(["30.0", "45.0", "38.0"]);
    expect(renderHtml(report, {})).toContain("Beats and HRV against the reference");
    expect(hrvTables(run(["ppg"], ["pos"]))).toBeNull();
  });
});

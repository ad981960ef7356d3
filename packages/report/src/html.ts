import {
  type EstimatorName,
  estimatorLabel,
  estimatorNames,
  estimatorsIn,
  type ProtocolName,
  type ProtocolReport,
  type RunReport,
  tunedName,
} from "@hrpipe/contracts";
import type { AgreementMetrics } from "@hrpipe/signal";

/** The published numbers of the study this project reproduces, for side-by-side reading. */
export const publishedRmse: Partial<Record<ProtocolName, { mean: number; median?: number }>> = {
  "unseen-participants": { mean: 27.17 },
  "unseen-videos": { mean: 16.96, median: 12.32 },
};

/** Why a report has no CNN row, and how to add one. */
export const noCnnNote =
  "No CNN row: this run did not ask for the study's DenseNet-161 regressor (--cnn densenet). Without ImageNet weights its backbone is random and learns little; fetch them with `hrpipe model fetch-weights` and set HRPIPE_DENSENET_WEIGHTS.";

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "-";
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** RMSE, MAE, MAPE, r, Bland-Altman and n: the metricsHeader columns after the headline ones. */
function agreementCells(m: AgreementMetrics): string[] {
  return [
    fmt(m.rmse),
    fmt(m.mae),
    fmt(m.mape, 1),
    fmt(m.pearsonR),
    `${fmt(m.bias)} [${fmt(m.loaLower)}, ${fmt(m.loaUpper)}]`,
    String(m.n),
  ];
}

/**
 * The metrics table users read first: the CNN's frames (where the run has a CNN), then one row per
 * estimator ranked by window RMSE (best first), the study's headline columns first.
 */
export function metricsRows(report: ProtocolReport): string[][] {
  const rows: string[][] = [];
  const frames = report.metrics.overall.frames;
  const cnnFrames = report.metrics.headline.cnnFrames;
  if (frames && cnnFrames)
    rows.push([
      "CNN (frames)",
      fmt(cnnFrames.meanRmse),
      fmt(cnnFrames.medianRmse),
      ...agreementCells(frames),
      "-",
      "-",
    ]);
  const { windows, lowQualityWindows, windowBands } = report.metrics.overall;
  const rmseOf = (name: EstimatorName) =>
    Number.isFinite(windows[name]!.rmse) ? windows[name]!.rmse : Number.POSITIVE_INFINITY;
  const ranked = estimatorsIn(windows).sort((a, b) => rmseOf(a) - rmseOf(b));
  for (const [rank, name] of ranked.entries()) {
    const headline = report.metrics.headline.windows[name]!;
    const bands = windowBands[name]!;
    rows.push([
      `${rank + 1}. ${estimatorLabel(name)} (windows)`,
      fmt(headline.meanRmse),
      fmt(headline.medianRmse),
      ...agreementCells(windows[name]!),
      String(lowQualityWindows[name] ?? "-"),
      `${fmt(bands.accuracy)} / ${fmt(bands.macroF1)}`,
    ]);
  }
  return rows;
}

export const metricsHeader = [
  "estimator",
  "mean RMSE/pp",
  "median RMSE/pp",
  "RMSE",
  "MAE",
  "MAPE %",
  "r",
  "bias [95% LoA]",
  "n",
  "low-quality windows",
  "HR band acc. / F1",
];

function table(header: string[], rows: string[][]): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<div class="wide"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** What each network's fine-tuned form (`<name>-ft`) was trained on and how, in one line each. */
export function tuningNotes(report: Pick<ProtocolReport, "networks">): string[] {
  return report.networks.map(({ name, tuned }) => {
    if (!tuned) return `${tunedName(name)}: not fine-tuned in this protocol.`;
    const from = tuned.from ? `, fine-tuned by run ${tuned.from}` : "";
    const videos = (n: number) => `${n} video${n === 1 ? "" : "s"}`;
    return `${tunedName(name)}${from}: ${tuned.layers.join(", ")} trained (the rest as imported) on ${videos(tuned.trainVideos)}, ${videos(tuned.validationVideos)} held out for early stopping; ${tuned.loss} against ${tuned.target}; best epoch ${tuned.bestEpoch} of ${tuned.epochs}, ${tuned.trainChunks} chunks, ${Math.round(tuned.framesPerS).toLocaleString("en")} frames/s on ${tuned.device}.`;
  });
}

function protocolSection(report: ProtocolReport, figures: Record<string, string>): string {
  const { cnn } = report;
  const scored = estimatorsIn(report.metrics.overall.windows);
  const perParticipant = report.metrics.participants.map((p) => [
    p.participant,
    ...(cnn ? [fmt(p.frames?.rmse ?? Number.NaN)] : []),
    ...scored.map((name) => fmt(p.windows[name]!.rmse)),
    String(p.windows.pos?.n ?? 0),
  ]);
  const cnnNote = !cnn
    ? `<p>${escapeHtml(noCnnNote)}</p>`
    : cnn.weights.kind === "random-init"
      ? `<p class="warn">${escapeHtml(cnn.weights.note)}</p>`
      : `<p>Backbone weights: ${escapeHtml(cnn.weights.source)} (hash ${escapeHtml(cnn.weights.weightsHash)}).</p>`;
  const testFrames = cnn ? ` ${cnn.testFrames} labelled test frames;` : "";
  const published = report.published
    ? `Published CNN RMSE for this protocol: ${fmt(report.published.meanRmse)}${report.published.medianRmse ? ` mean / ${fmt(report.published.medianRmse)} median` : " mean"} bpm.`
    : "The study has no published number for this protocol.";
  return `
<section id="${report.protocol}">
<h2>${escapeHtml(report.protocol)}</h2>
<p>Split: ${escapeHtml(report.split.rule)}. ${report.split.train.length} training and ${report.split.test.length} test videos;${testFrames} ${report.windows.count} windows of ${report.windows.windowS} s every ${report.windows.strideS} s on which every estimator was scored. ${published}</p>
${cnnNote}
${tuningNotes(report)
  .map((note) => `<p>${escapeHtml(note)}</p>`)
  .join("\n")}
${table(metricsHeader, metricsRows(report))}
<h3>Per participant (RMSE, bpm)</h3>
${table(["participant", ...(cnn ? ["CNN frames"] : []), ...scored.map((n) => `${estimatorLabel(n)} windows`), "windows"], perParticipant)}
<div class="figures">${Object.values(figures)
    .map((svg) => `<figure>${svg}</figure>`)
    .join("\n")}</div>
${cnn ? `<p>Head: best validation epoch ${cnn.training.bestEpoch}, validation RMSE ${fmt(cnn.training.valRmseBpm)} bpm on ${cnn.training.samples} samples, TensorFlow.js backend ${escapeHtml(cnn.training.backend)}.</p>` : ""}
</section>`;
}

/** At most this many per-video figures are drawn inline; every figure is stored beside report.json. */
export const inlineVideoFigures = 60;

/** One row per video: the reference and every estimator's whole-video heart rate, or why it was left out. */
export function videoTable(run: RunReport): { header: string[]; rows: string[][] } {
  const withReference = run.videos.some((v) => v.referenceHrBpm !== null);
  const shown = estimatorsIn(Object.assign({}, ...run.videos.map((v) => v.methods)));
  const hr = (value: number | null | undefined) =>
    value === null || value === undefined ? "-" : fmt(value, 1);
  return {
    header: [
      "subject",
      "video",
      "duration (s)",
      ...(withReference ? ["reference"] : []),
      ...shown.map((n) => estimatorLabel(n)),
      "excluded",
    ],
    rows: run.videos.map((v) => [
      v.subject,
      v.video,
      hr(v.durationS),
      ...(withReference ? [hr(v.referenceHrBpm)] : []),
      ...shown.map((name) => hr(v.methods[name]?.hrBpm)),
      v.excluded ?? "",
    ]),
  };
}

/** Each estimator's whole-video heart rates against the references, best MAE first. */
export function videoMetricsTable(run: RunReport): { header: string[]; rows: string[][] } {
  const scored = estimatorsIn(run.videoMetrics);
  const maeOf = (name: EstimatorName) => run.videoMetrics[name]!.mae;
  return {
    header: ["estimator (per video)", "RMSE", "MAE", "MAPE %", "r", "bias [95% LoA]", "videos"],
    rows: [...scored]
      .sort(
        (a, b) => (Number.isFinite(maeOf(a)) ? maeOf(a) : 1e9) - (Number.isFinite(maeOf(b)) ? maeOf(b) : 1e9),
      )
      .map((name) => [estimatorLabel(name), ...agreementCells(run.videoMetrics[name]!)]),
  };
}

/**
 * Beats and HRV against the references' beats: per estimator averaged over the videos (best RMSSD
 * error first), and per video the reference's RMSSD beside each estimator's.
 */
export function hrvTables(run: RunReport): {
  agreement: { header: string[]; rows: string[][] };
  videos: { header: string[]; rows: string[][] };
} | null {
  const scored = estimatorsIn(run.hrvAgreement);
  if (scored.length === 0) return null;
  const ms = (value: number | null | undefined) =>
    value === null || value === undefined ? "-" : fmt(value, 1);
  const errorOf = (name: string) => run.hrvAgreement[name]!.rmssdErrorMs ?? Number.POSITIVE_INFINITY;
  return {
    agreement: {
      header: [
        "estimator",
        "videos",
        "beat sensitivity",
        "positive predictivity",
        "mean IBI error (ms)",
        "RMSSD error (ms)",
      ],
      rows: [...scored]
        .sort((a, b) => errorOf(a) - errorOf(b))
        .map((name) => {
          const a = run.hrvAgreement[name]!;
          return [
            estimatorLabel(name),
            String(a.videos),
            fmt(a.sensitivity),
            fmt(a.positivePredictivity),
            ms(a.meanIbiErrorMs),
            ms(a.rmssdErrorMs),
          ];
        }),
    },
    videos: {
      header: [
        "subject",
        "video",
        "reference RMSSD (ms)",
        ...scored.map((n) => `${estimatorLabel(n)} RMSSD`),
      ],
      rows: run.videos
        .filter((v) => v.referenceHrv)
        .map((v) => [
          v.subject,
          v.video,
          ms(v.referenceHrv!.whole.rmssdMs),
          ...scored.map((name) => ms(v.methods[name]?.hrv?.whole.rmssdMs)),
        ]),
    },
  };
}

function videosSection(run: RunReport, videoFigures: Record<string, string>): string {
  if (run.videos.length === 0) return "";
  const withReference = run.videos.some((v) => v.referenceHrBpm !== null);
  const { header, rows } = videoTable(run);
  const agreement = videoMetricsTable(run);
  const drawn = run.videos.filter((v) => v.figure && videoFigures[v.figure]).slice(0, inlineVideoFigures);
  const more = run.videos.filter((v) => v.figure).length - drawn.length;
  return `
<section id="videos">
<h2>Per video</h2>
<p>Whole-video heart rate (bpm): for each rPPG method the median of its confident windows; for the CNN the median of its windows where a protocol tested the video${withReference ? "; the reference is the whole video's spectral peak (PPG) or mean beat rate (ECG)" : "; the dataset has no reference, so no errors are computed"}. report.json holds every window.</p>
${table(header, rows)}
${agreement.rows.length > 0 ? `<h3>Per-video agreement with the reference (bpm)</h3>\n${table(agreement.header, agreement.rows)}` : ""}
${hrvSection(run)}
<h3>Heart rate over time</h3>
<p>Each method through its window centres, with a band as wide as its doubt (1 - confidence); the reference in black.${more > 0 ? ` ${more} more figures are stored beside report.json (runs/${escapeHtml(run.runId)}/reports/videos/).` : ""}</p>
<div class="figures">${drawn.map((v) => `<figure>${videoFigures[v.figure!]}</figure>`).join("\n")}</div>
</section>`;
}

function hrvSection(run: RunReport): string {
  const tables = hrvTables(run);
  if (!tables) return "";
  return `<h3>Beats and HRV against the reference</h3>
<p>Beats are the systolic peaks of each pulse, guided by its tracked heart rate; the reference's are its own (PPG systolic peaks, ECG R peaks). A beat matches a reference beat within 150 ms once the video's median lag between the two is taken out (the face's pulse arrives before the finger's). HRV is over the clean intervals of the whole video; on compressed video rPPG beats jitter by tens of ms, which RMSSD, a beat-to-beat measure, shows first.</p>
${table(tables.agreement.header, tables.agreement.rows)}
${table(tables.videos.header, tables.videos.rows)}`;
}

/** A self-contained HTML page (inline SVG, inline CSS): it opens offline from a downloaded folder. */
/** Where the CNN's features came from: the backbone's weights and the execution providers that ran it. */
function featuresNote(features: RunReport["features"]): string {
  if (!features) return "";
  return `<p>Features: ${escapeHtml(features.weights.kind)} backbone (hash ${escapeHtml(features.weights.weightsHash)}), ONNX Runtime on ${escapeHtml(features.executionProviders.join(", "))}, ${escapeHtml(features.batchSizes.join(", "))} crops per batch.</p>`;
}

const referenceNames: Record<RunReport["referenceKinds"][number], string> = {
  ecg: "the ECG",
  ppg: "the PPG (pulse oximeter)",
  hr: "the heart-rate trace",
  rr: "the RR intervals",
};

/** What the run measured and against what: its estimators and the kinds of its references, from the report itself. */
function opening(run: RunReport): string {
  const present = estimatorNames.filter(
    (name) =>
      run.videos.some((v) => v.methods[name]) ||
      (name === "cnn" && Object.values(run.protocols).some((p) => p?.cnn)),
  );
  const methods = present.filter((name) => name !== "cnn").map((name) => estimatorLabel(name));
  const networks = Object.values(run.protocols).find((p) => p && p.networks.length > 0)?.networks ?? [];
  const list = (items: string[]) =>
    items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
  const parts: string[] = [];
  if (present.includes("cnn"))
    parts.push("CNN: frozen DenseNet-161 features and a 2208-16-32-16-1 regression head.");
  if (methods.length > 0)
    parts.push(
      `${list(methods)}: classical rPPG on the mean skin colour of the same faces${present.includes("cnn") ? ", scored on exactly the same windows" : ""}.`,
    );
  if (networks.length > 0)
    parts.push(
      `${list(networks.map((n) => `${n.name} (${n.architecture}${n.trainedOn ? `, trained on ${n.trainedOn}` : ""})`))}: imported temporal networks on the same face crops, measured like the methods; each protocol also scores them fine-tuned on its training videos (<name>-ft).`,
    );
  parts.push(
    run.referenceKinds.length > 0
      ? `Each window is scored against ${list(run.referenceKinds.map((kind) => referenceNames[kind]))} over the same window.`
      : "The videos have no reference: heart rates are reported, errors are not.",
  );
  return parts.join(" ");
}

export function renderHtml(
  run: RunReport,
  figures: Partial<Record<ProtocolName, Record<string, string>>>,
  videoFigures: Record<string, string> = {},
): string {
  const sections = Object.values(run.protocols).map((report) =>
    protocolSection(report!, figures[report!.protocol] ?? {}),
  );
  const exclusions = run.exclusions.map((e) => [
    e.stage,
    e.participant,
    e.videoId ?? "",
    e.segment === undefined ? "" : String(e.segment),
    e.reason,
  ]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hrpipe report ${escapeHtml(run.runId)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}thead{background:#f3f3f3}.warn{background:#fff4e5;border-left:4px solid #f5a623;padding:.5rem}
.figures{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;max-width:100%}figure svg{max-width:100%;height:auto}
.wide{overflow-x:auto;max-width:100%}
</style></head><body>
<h1>Heart rate from facial video: run ${escapeHtml(run.runId)}</h1>
<p>Report version ${run.reportVersion}, written ${escapeHtml(run.createdAt)}; run ${escapeHtml(run.state)}. ${escapeHtml(opening(run))}</p>
${featuresNote(run.features)}
${sections.join("\n")}
${videosSection(run, videoFigures)}
<h2>Not evaluated</h2>
${
  run.notEvaluated.length
    ? table(
        ["protocol", "reason"],
        run.notEvaluated.map((n) => [n.protocol, n.reason]),
      )
    : "<p>Every protocol was evaluated.</p>"
}
<h2>Exclusions</h2>
${exclusions.length ? table(["stage", "participant", "video", "segment", "reason"], exclusions) : "<p>None.</p>"}
</body></html>
`;
}

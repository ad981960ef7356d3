import { type EpochCurve, estimatorLabel, estimatorsIn, type ProtocolMetrics } from "@hrpipe/contracts";
import { estimatorColour as colour, type TopLevelSpec, vegaLiteSchema } from "@hrpipe/report";
import type { WindowComparison } from "./evaluate.ts";

export function rmseBarsSpec(metrics: ProtocolMetrics, protocol: string): TopLevelSpec {
  const shown = estimatorsIn(metrics.overall.windows);
  const values = metrics.participants.flatMap((p) =>
    estimatorsIn(p.windows).map((name) => ({
      participant: p.participant,
      estimator: estimatorLabel(name),
      rmse: p.windows[name]!.rmse,
    })),
  );
  return {
    $schema: vegaLiteSchema,
    title: `Per-participant window RMSE, ${protocol}`,
    data: { values: values.filter((v) => Number.isFinite(v.rmse)) },
    mark: "bar",
    encoding: {
      x: { field: "participant", type: "nominal", title: "participant" },
      xOffset: { field: "estimator", type: "nominal" },
      y: { field: "rmse", type: "quantitative", title: "RMSE (bpm)" },
      color: colour(shown),
    },
    width: Math.max(240, 60 * metrics.participants.length),
    height: 220,
  };
}

export function scatterSpec(windows: WindowComparison[], protocol: string): TopLevelSpec {
  const shown = windows[0] ? estimatorsIn(windows[0].estimates) : [];
  const values = windows.flatMap((w) =>
    estimatorsIn(w.estimates).map((name) => ({
      estimator: estimatorLabel(name),
      ecg: w.referenceBpm,
      estimate: w.estimates[name]!,
    })),
  );
  const all = values.flatMap((v) => [v.ecg, v.estimate]);
  const domain = [Math.floor(Math.min(40, ...all) / 10) * 10, Math.ceil(Math.max(140, ...all) / 10) * 10];
  return {
    $schema: vegaLiteSchema,
    title: `Estimated vs reference heart rate per window, ${protocol}`,
    layer: [
      {
        data: {
          values: [
            { x: domain[0], y: domain[0] },
            { x: domain[1], y: domain[1] },
          ],
        },
        mark: { type: "line", color: "#888", strokeDash: [4, 4] },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values },
        mark: { type: "point", opacity: 0.6, filled: true, size: 20 },
        encoding: {
          x: { field: "ecg", type: "quantitative", title: "reference heart rate (bpm)", scale: { domain } },
          y: { field: "estimate", type: "quantitative", title: "estimate (bpm)", scale: { domain } },
          color: colour(shown),
        },
      },
    ],
    width: 320,
    height: 320,
  };
}

export function blandAltmanSpec(
  windows: WindowComparison[],
  metrics: ProtocolMetrics,
  protocol: string,
): TopLevelSpec {
  const points = windows.flatMap((w) =>
    estimatorsIn(w.estimates).map((name) => ({
      mark: "point",
      estimator: estimatorLabel(name),
      mean: (w.estimates[name]! + w.referenceBpm) / 2,
      difference: w.estimates[name]! - w.referenceBpm,
    })),
  );
  const scored = estimatorsIn(metrics.overall.windows);
  const rules = scored.flatMap((name) => {
    const m = metrics.overall.windows[name]!;
    return [
      { mark: "rule", estimator: estimatorLabel(name), line: "bias", difference: m.bias },
      { mark: "rule", estimator: estimatorLabel(name), line: "95% limits", difference: m.loaLower },
      { mark: "rule", estimator: estimatorLabel(name), line: "95% limits", difference: m.loaUpper },
    ].filter((r) => Number.isFinite(r.difference));
  });
  return {
    $schema: vegaLiteSchema,
    title: `Bland-Altman per window, ${protocol}`,
    data: { values: [...points, ...rules] },
    // Wrapped four to a row: eight panels in one row ran off a report's page.
    facet: {
      field: "estimator",
      type: "nominal",
      title: null,
      sort: scored.map((n) => estimatorLabel(n)),
    },
    columns: 4,
    spec: {
      width: 170,
      height: 170,
      layer: [
        {
          transform: [{ filter: "datum.mark === 'point'" }],
          mark: { type: "point", filled: true, opacity: 0.5, size: 16 },
          encoding: {
            x: {
              field: "mean",
              type: "quantitative",
              title: "mean of estimate and reference (bpm)",
              scale: { zero: false },
            },
            y: { field: "difference", type: "quantitative", title: "estimate - reference (bpm)" },
            color: colour(scored),
          },
        },
        {
          transform: [{ filter: "datum.mark === 'rule'" }],
          mark: { type: "rule", color: "#444" },
          encoding: {
            y: { field: "difference", type: "quantitative" },
            strokeDash: { field: "line", type: "nominal", title: null },
          },
        },
      ],
    },
  };
}

export function trainingCurvesSpec(curves: EpochCurve[], protocol: string): TopLevelSpec {
  const values = curves.flatMap((c) => [
    { epoch: c.epoch, loss: c.trainLoss, set: "train" },
    { epoch: c.epoch, loss: c.valLoss, set: "validation" },
  ]);
  return {
    $schema: vegaLiteSchema,
    title: `Head training curves, ${protocol}`,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch" },
      y: { field: "loss", type: "quantitative", title: "MSE (standardised labels)" },
      color: { field: "set", type: "nominal", title: null },
    },
    width: 320,
    height: 200,
  };
}

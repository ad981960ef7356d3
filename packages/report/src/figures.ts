import { estimatorLabel, estimatorNames, estimatorsIn, type VideoReport } from "@hrpipe/contracts";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type { TopLevelSpec };

export const vegaLiteSchema = "https://vega.github.io/schema/vega-lite/v6.json";

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"];
/** The networks' colours, in the order of their names (a network and its fine-tuned form side by side). */
const networkPalette = [
  "#17becf",
  "#0b5d66",
  "#bcbd22",
  "#6b6b12",
  "#393b79",
  "#9c9ede",
  "#ad494a",
  "#e7969c",
];

/**
 * One colour per estimator in every figure of every report: the built-in ones always the same, the
 * networks a figure shows after them.
 */
export function estimatorColour(shown: readonly string[]) {
  const builtIn = new Set<string>(estimatorNames);
  const networks = [...new Set(shown.filter((name) => !builtIn.has(name)))].sort();
  return {
    field: "estimator",
    type: "nominal",
    scale: {
      domain: [...estimatorNames.map(estimatorLabel), ...networks],
      range: [...palette, ...networks.map((_, i) => networkPalette[i % networkPalette.length]!)],
    },
    title: "estimator",
  } as const;
}

/** Renders a Vega-Lite spec to a standalone SVG string, headless (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * A video's heart rate over time: the reference as a black line, each method as a coloured line
 * through its window centres, and a band around each method as wide as its doubt (1 - confidence,
 * up to ±10 bpm), so a confident method reads as a thin line and a guessing one as a wide band.
 */
export function hrOverTimeSpec(video: VideoReport): TopLevelSpec {
  const shown = estimatorsIn(video.methods);
  const points = shown.flatMap((name) =>
    (video.methods[name]?.windows ?? []).flatMap((w) => {
      if (w.hrBpm === null) return [];
      const doubtBpm = 10 * (1 - (w.confidence ?? 1));
      return [
        {
          estimator: estimatorLabel(name),
          timeS: (w.startS + w.endS) / 2,
          hrBpm: w.hrBpm,
          low: w.hrBpm - doubtBpm,
          high: w.hrBpm + doubtBpm,
        },
      ];
    }),
  );
  const reference = (video.methods.pos ?? video.methods.cnn)?.windows.flatMap((w) =>
    w.referenceHrBpm === null ? [] : [{ timeS: (w.startS + w.endS) / 2, hrBpm: w.referenceHrBpm }],
  );
  const x = { field: "timeS", type: "quantitative", title: "video time (s)" } as const;
  const y = {
    field: "hrBpm",
    type: "quantitative",
    title: "heart rate (bpm)",
    scale: { zero: false },
  } as const;
  return {
    $schema: vegaLiteSchema,
    title: `${video.video}${video.referenceHrBpm === null ? "" : ` (black: reference, ${video.referenceHrBpm.toFixed(1)} bpm over the video)`}`,
    layer: [
      {
        data: { values: points },
        mark: { type: "area", opacity: 0.12 },
        encoding: {
          x,
          y: { field: "low", type: "quantitative" },
          y2: { field: "high" },
          color: estimatorColour(shown),
        },
      },
      {
        data: { values: points },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: { x, y, color: estimatorColour(shown) },
      },
      ...(reference && reference.length > 0
        ? [
            {
              data: { values: reference },
              mark: { type: "line" as const, color: "#000", strokeWidth: 2.5 },
              encoding: { x, y },
            },
          ]
        : []),
    ],
    width: 520,
    height: 200,
  };
}

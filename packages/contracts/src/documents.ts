/**
 * Every JSON document one stage writes and another reads, as a schema, and the one way to read it:
 * `readArtifact(storage, key, schema)` validates what it finds and names the key and the field at
 * fault, so no stage ever carries on with a stale or foreign file's `undefined`.
 */
import { z } from "zod";
import { weightsProvenanceSchema } from "./backbone.ts";
import { exclusionSchema, runManifestSchema, splitSchema } from "./manifest.ts";
import { protocolNames, trainOptionsSchema } from "./payloads.ts";

/** JSON has no NaN: metrics that are undefined (a constant series' correlation) are stored as null. */
const metricNumber = z.union([z.number(), z.nan(), z.null()]).transform((value) => value ?? Number.NaN);

// ---- labels (labels stage) ----

export const spanSchema = z.object({ startS: z.number(), endS: z.number() });

/**
 * labels/<hash>/<participant>/<videoId>.json: per-frame HR of one video from its reference (an AMIGOS
 * trial's ECG, or a recording's PPG, ECG, HR trace or RR intervals), on the video's clock.
 */
export const trialLabelsSchema = z.object({
  participant: z.string(),
  videoId: z.string(),
  kind: z.enum(["ecg", "ppg", "hr", "rr"]),
  /** The reference file, and the AMIGOS joined_data column where it is one. */
  source: z.string(),
  column: z.number().int().nullable(),
  fps: z.number().positive(),
  windowS: z.number().positive(),
  /** The reference's (median) sampling rate. */
  fsHz: z.number().positive(),
  durationS: z.number(),
  frameCount: z.number().int(),
  /** Beat times (ECG R peaks, PPG systolic peaks, RR-interval ends) in s of video time; none for HR traces. */
  beatTimesS: z.array(z.number()),
  /**
   * A PPG reference's waveform at every video frame (frame k at k / fps s of the video's own rate),
   * null outside the recording; what fine-tuning a network targets. null for other reference kinds.
   */
  waveform: z
    .object({ fps: z.number().positive(), values: z.array(z.number().nullable()) })
    .nullable()
    .default(null),
  /** Heart rate of frame k (at k / fps seconds), null where the window holds too few valid beats. */
  hrBpm: z.array(z.number().nullable()),
  /**
   * The whole video's reference heart rate as the field reports it: a PPG waveform's spectral peak
   * (rPPG-Toolbox's recipe), else the mean beat rate; null where the reference covers too little.
   */
  videoHrBpm: z.number().nullable(),
  quality: z.object({
    beats: z.number().int(),
    rrIntervals: z.number().int(),
    rrRejected: z.number().int(),
    /** Share of frames with a label. */
    labelledShare: z.number(),
    /** ECG only: whether the R peaks point up. */
    polarity: z.enum(["upright", "inverted"]).optional(),
    /** Recorded (finite) stretches; the rest of the trial is NaN in the source. */
    spansS: z.array(spanSchema),
    meanHrBpm: z.number().nullable(),
    minHrBpm: z.number().nullable(),
    maxHrBpm: z.number().nullable(),
  }),
});
export type TrialLabels = z.infer<typeof trialLabelsSchema>;

// ---- faces (face stage) ----

/** faces/<hash>/.../<segment>.faceless.json: a segment in which no frame showed a face. */
export const facelessSegmentSchema = z.object({ reason: z.string() });

// ---- trained head (train stage) ----

export const epochCurveSchema = z.object({
  epoch: z.number().int(),
  /** Mean squared error on standardised labels. */
  trainLoss: metricNumber,
  valLoss: metricNumber,
});
export type EpochCurve = z.output<typeof epochCurveSchema>;

/** What turns head outputs back into bpm. */
export const headInfoSchema = z.object({
  inputDim: z.number().int().positive(),
  labelMean: z.number(),
  labelStd: z.number(),
  bestEpoch: z.number().int(),
  backend: z.string(),
});
export type HeadInfo = z.infer<typeof headInfoSchema>;

/** head.json: the head's info and what it was trained on (written last: the head is complete). */
export const headSummarySchema = headInfoSchema.extend({
  samples: z.number().int(),
  valRmseBpm: metricNumber,
});

/** model.json: a TensorFlow.js layers model whose weights are in weights.bin. */
export const layersModelSchema = z.object({
  format: z.literal("layers-model"),
  generatedBy: z.string(),
  convertedBy: z.null(),
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(
      z.object({
        paths: z.array(z.string()),
        weights: z.array(
          z.object({ name: z.string(), shape: z.array(z.number().int()), dtype: z.literal("float32") }),
        ),
      }),
    )
    .min(1),
});
export type LayersModelJson = z.infer<typeof layersModelSchema>;

/** curves.json: loss per epoch and the epoch whose weights were kept. */
export const trainingCurvesSchema = z.object({
  bestEpoch: z.number().int(),
  valRmseBpm: metricNumber,
  lossUnits: z.string(),
  epochs: z.array(epochCurveSchema),
});
export type TrainingCurves = z.output<typeof trainingCurvesSchema>;

/** samples.json: every frame the head saw, and whether it was used for training or validation. */
export const trainingSamplesSchema = z.object({
  columns: z.tuple([
    z.literal("participant"),
    z.literal("videoId"),
    z.literal("frameIndex"),
    z.literal("hrBpm"),
    z.literal("split"),
  ]),
  rows: z.array(z.tuple([z.string(), z.string(), z.number(), z.number(), z.enum(["train", "validation"])])),
});
export type TrainingSamples = z.infer<typeof trainingSamplesSchema>;

/** provenance.json: what a run's head was trained on and with. */
export const modelProvenanceSchema = z.object({
  weights: weightsProvenanceSchema,
  backend: z.string(),
  options: trainOptionsSchema,
  trainVideos: z.array(z.string()),
  /** Content address of the head (heads/<hash>/...); a re-run with the same inputs reuses it. */
  headHash: z.string(),
});
export type ModelProvenance = z.infer<typeof modelProvenanceSchema>;

// ---- reports (eval stage) ----

export const agreementMetricsSchema = z.object({
  n: z.number().int(),
  rmse: metricNumber,
  mae: metricNumber,
  mape: metricNumber,
  pearsonR: metricNumber,
  bias: metricNumber,
  loaLower: metricNumber,
  loaUpper: metricNumber,
});

/** The estimators hrpipe has itself: the CNN and each classical rPPG method, in the order reports list them. */
export const estimatorNames = ["cnn", "pos", "chrom", "omit", "lgi", "pbv", "ica", "green"] as const;
export type BuiltInEstimator = (typeof estimatorNames)[number];
/**
 * An estimator: a built-in one, or an imported network by its name (`physnet-pure`) and as a run
 * fine-tuned it (`physnet-pure-ft`).
 */
export type EstimatorName = string;

/** The name of a network as a protocol fine-tuned it. */
export const tunedName = (network: string) => `${network}-ft`;

/**
 * The estimators a record scores: the built-in ones in estimatorNames' order (a run without a CNN has
 * no cnn entry), then the networks by name, each followed by its fine-tuned form.
 */
export function estimatorsIn(scores: Record<string, unknown>): EstimatorName[] {
  const present = (name: string) => scores[name] !== undefined && scores[name] !== null;
  const builtIn = new Set<string>(estimatorNames);
  return [
    ...estimatorNames.filter(present),
    ...Object.keys(scores)
      .filter((name) => !builtIn.has(name) && present(name))
      .sort(),
  ];
}

/** How tables and figures name an estimator: the built-in ones' labels, a network's own name. */
export function estimatorLabel(name: EstimatorName): string {
  return (estimatorLabels as Record<string, string>)[name] ?? name;
}

const estimatorLabels: Record<BuiltInEstimator, string> = {
  cnn: "CNN",
  pos: "POS",
  chrom: "CHROM",
  omit: "OMIT",
  lgi: "LGI",
  pbv: "PBV",
  ica: "ICA",
  green: "GREEN",
};

/**
 * Per estimator: the classical methods, scored in every report; the CNN only in runs that ran it
 * (--cnn); the networks a run named (--neural) by name, and fine-tuned (`<name>-ft`).
 */
const perEstimator = <T extends z.ZodType>(schema: T) => z.record(z.string(), schema);

const rmseSummarySchema = z.object({ meanRmse: metricNumber, medianRmse: metricNumber });

/** Heart rates as bands (<60, 60-80, 80-100, >=100 bpm): the study's proposed classification view. */
export const bandAgreementSchema = z.object({
  bands: z.array(z.string()),
  /** confusion[reference band][estimated band]. */
  confusion: z.array(z.array(z.number().int())),
  accuracy: metricNumber,
  macroF1: metricNumber,
});

export const protocolMetricsSchema = z.object({
  participants: z.array(
    z.object({
      participant: z.string(),
      /** The CNN's frame predictions; null without a CNN. */
      frames: agreementMetricsSchema.nullable(),
      windows: perEstimator(agreementMetricsSchema),
    }),
  ),
  overall: z.object({
    frames: agreementMetricsSchema.nullable(),
    windows: perEstimator(agreementMetricsSchema),
    /** Per rPPG method, the scored windows whose SNR fell below the quality floor. */
    lowQualityWindows: z.record(z.string(), z.number().int()),
    windowBands: perEstimator(bandAgreementSchema),
  }),
  /** The study's headline numbers: mean and median over participants of the per-participant RMSE. */
  headline: z.object({ cnnFrames: rmseSummarySchema.nullable(), windows: perEstimator(rmseSummarySchema) }),
});
export type ProtocolMetrics = z.output<typeof protocolMetricsSchema>;

export const reportVersion = 4;

/** runs/<runId>/reports/<protocol>/report.json. */
export const protocolReportSchema = z.object({
  reportVersion: z.literal(reportVersion),
  runId: z.string(),
  protocol: z.enum(protocolNames),
  createdAt: z.string(),
  split: splitSchema,
  options: runManifestSchema.shape.options,
  /** The CNN as this protocol trained and tested it; null when the run has none (--cnn none). */
  cnn: z
    .object({
      weights: weightsProvenanceSchema,
      training: z.object({
        samples: z.number().int(),
        bestEpoch: z.number().int(),
        valRmseBpm: metricNumber,
        backend: z.string(),
      }),
      testFrames: z.number().int(),
    })
    .nullable(),
  /** The networks the run named: as imported, and as this protocol fine-tuned them (what was trained, how). */
  networks: z
    .array(
      z.object({
        name: z.string(),
        architecture: z.string(),
        trainedOn: z.string().nullable(),
        tuned: z
          .object({
            layers: z.array(z.string()),
            loss: z.string(),
            target: z.string(),
            bestEpoch: z.number().int(),
            epochs: z.number().int(),
            trainVideos: z.number().int(),
            validationVideos: z.number().int(),
            trainChunks: z.number().int(),
            framesPerS: z.number(),
            device: z.string(),
            /** cross-dataset: the run whose fine-tuned network this protocol tests. */
            from: z.string().nullable(),
          })
          .nullable(),
      }),
    )
    .default([]),
  windows: z.object({ count: z.number().int(), windowS: z.number(), strideS: z.number() }),
  metrics: protocolMetricsSchema,
  /** The study's number for this protocol; null where it published none (cross-dataset). */
  published: z.object({ meanRmse: z.number(), medianRmse: z.number().optional() }).nullable(),
  exclusions: z.array(exclusionSchema),
  /** Figure name -> storage key of its SVG. */
  figures: z.record(z.string(), z.string()),
});
export type ProtocolReport = z.output<typeof protocolReportSchema>;

/** runs/<runId>/reports/<protocol>/windows.json: the CNN's estimate on every scored window of the test split. */
export const cnnWindowsSchema = z.object({
  protocol: z.enum(protocolNames),
  windows: z.array(
    z.object({
      participant: z.string(),
      videoId: z.string(),
      startS: z.number(),
      endS: z.number(),
      hrBpm: z.number(),
    }),
  ),
});
export type CnnWindows = z.infer<typeof cnnWindowsSchema>;

/** Time-domain HRV of a span of beat intervals (packages/signal, hrvMetrics); null where too few were clean. */
export const hrvMetricsSchema = z.object({
  meanIbiMs: z.number().nullable(),
  sdnnMs: z.number().nullable(),
  rmssdMs: z.number().nullable(),
  pnn50: z.number().nullable(),
  intervals: z.number().int(),
  flaggedShare: z.number().nullable(),
});

/** A recording's HRV: over the whole of it and per consecutive 60 s from its first frame. */
const recordingHrvSchema = z.object({
  whole: hrvMetricsSchema,
  spans: z.array(hrvMetricsSchema.extend({ startS: z.number(), endS: z.number() })),
});

/**
 * An estimator's beats against the reference's (signal's beatAgreement): matched within 150 ms after
 * the recording's median lag, and the HRV errors.
 */
export const beatAgreementSchema = z.object({
  sensitivity: z.number(),
  positivePredictivity: z.number(),
  lagMs: z.number().nullable(),
  meanIbiErrorMs: z.number().nullable(),
  rmssdErrorMs: z.number().nullable(),
});

/** One estimator on one video: its whole-video heart rate and its windows (README, "report.json"). */
export const videoEstimateSchema = z.object({
  /** The median of the video's confident windows, bpm; null when no window was. */
  hrBpm: z.number().nullable(),
  windows: z.array(
    z.object({
      /** Seconds of video time. */
      startS: z.number(),
      endS: z.number(),
      hrBpm: z.number().nullable(),
      /** 0-1 from the window's spectral SNR (rPPG methods); null for the CNN. */
      confidence: z.number().nullable(),
      snrDb: z.number().nullable(),
      lowQuality: z.boolean(),
      /** The reference at the window's centre; null without a reference. */
      referenceHrBpm: z.number().nullable(),
    }),
  ),
  /** For the CNN and fine-tuned networks: the protocol whose test split held the video (they never saw it). */
  protocol: z.enum(protocolNames).optional(),
  /** Beats and heart-rate variability from the pulse (rPPG methods and networks; README, "HRV"). */
  hrv: recordingHrvSchema
    .extend({
      /** Against the reference's beats, where the video's reference has beats. */
      reference: beatAgreementSchema.optional(),
    })
    .optional(),
});
export type VideoEstimate = z.infer<typeof videoEstimateSchema>;

/** A video of a run, as other tools read it: every method's heart rate over time, and the reference's. */
export const videoReportSchema = z.object({
  subject: z.string(),
  /** The video's path in the dataset. */
  video: z.string(),
  participant: z.string(),
  videoId: z.string(),
  durationS: z.number().nullable(),
  /** The whole video's reference HR (a PPG's spectral peak, an ECG's mean beat rate); null without one. */
  referenceHrBpm: z.number().nullable(),
  /** Why the video was left out, or null. */
  excluded: z.string().nullable(),
  /** The reference's own HRV from its beats (PPG systolic peaks, ECG R peaks); null without beats. */
  referenceHrv: recordingHrvSchema.extend({ beats: z.number().int() }).nullable().default(null),
  /** Every rPPG method, and the CNN where a protocol tested the video. */
  methods: z.record(z.string(), videoEstimateSchema),
  /** Storage key of its HR-over-time figure. */
  figure: z.string().nullable(),
});
export type VideoReport = z.infer<typeof videoReportSchema>;

/** runs/<runId>/reports/report.json: every protocol's report of a run, and what could not be used. */
export const runReportSchema = z.object({
  reportVersion: z.literal(reportVersion),
  runId: z.string(),
  createdAt: z.string(),
  /** The run's final state: done when at least one protocol was evaluated, failed when none was... */
  state: z.enum(["done", "failed"]),
  protocols: z.partialRecord(z.enum(protocolNames), protocolReportSchema),
  /** ...and, for each one that was not, why. */
  notEvaluated: z.array(z.object({ protocol: z.enum(protocolNames), reason: z.string() })),
  exclusions: z.array(exclusionSchema),
  /** The dataset's layout, and every planned video with each method's heart rate over time. */
  layout: runManifestSchema.shape.layout,
  videos: z.array(videoReportSchema),
  /** Per estimator, its whole-video heart rates against the references (the field's per-video MAE...). */
  videoMetrics: z.record(z.string(), agreementMetricsSchema),
  /** Per estimator, its beats and HRV against the references' beats, averaged over the videos that have both. */
  hrvAgreement: z
    .record(
      z.string(),
      z.object({
        videos: z.number().int(),
        sensitivity: z.number(),
        positivePredictivity: z.number(),
        meanIbiErrorMs: z.number().nullable(),
        rmssdErrorMs: z.number().nullable(),
      }),
    )
    .default({}),
  /** The CNN's features: the backbone and where they were computed (null when nothing was embedded). */
  features: runManifestSchema.shape.features,
  /** What the run's videos were scored against: ECG (AMIGOS's .mat files, an ECG table), PPG, HR, RR. */
  referenceKinds: z.array(z.enum(["ecg", "ppg", "hr", "rr"])).default([]),
});
export type RunReport = z.output<typeof runReportSchema>;

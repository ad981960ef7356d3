import {
  addresses,
  artifactKeys,
  decodePulseShard,
  decodeSafetensors,
  formatVersions,
  headFiles,
  headSummarySchema,
  type LabelledVideo,
  layersModelSchema,
  modelProvenanceSchema,
  type NetworkRef,
  type ProtocolName,
  type RunManifest,
  seededPermutation,
  splitVideos,
  type TrainedOn,
  type TrainJobResult,
  type TrainOptions,
  type TrialLabels,
  type TunedNetwork,
  trainingCurvesSchema,
  trainingSamplesSchema,
  trialLabelsSchema,
  tunedNetworkSchema,
  videoRef,
} from "@hrpipe/contracts";
import {
  beatPulseTarget,
  importedTail,
  pulseTarget,
  serialiseHead,
  type TargetForm,
  type TuningVideo,
  tailModules,
  tailTuningDefaults,
  trainHead,
  tuneTail,
} from "@hrpipe/model";
import {
  BadInputError,
  type Logger,
  loadFrameSet,
  readArtifact,
  readManifest,
  type Storage,
  writeArtifact,
} from "@hrpipe/runtime";

type HeadResult = NonNullable<TrainJobResult["head"]>;
type TunedResult = TrainJobResult["networks"][number];

export interface TrainJobInput {
  runId: string;
  protocol: ProtocolName;
  options: TrainOptions;
  /** cross-dataset: the earlier run and protocol whose head this run tests. */
  trainedOn?: TrainedOn;
}

export interface TrainJobContext {
  storage: Storage;
  logger?: Logger;
  progress?: (stage: string, done: number, total: number) => void;
}

/**
 * One protocol's training: the CNN's regression head where the run has a CNN, and each network's
 * fine-tuned tail where the run names networks; cross-dataset trains nothing and adopts what
 * the run it names trained.
 */
export async function processTrainJob(
  input: TrainJobInput,
  context: TrainJobContext,
): Promise<TrainJobResult> {
  const manifest = await readManifest(context.storage, input.runId);
  const cross = input.protocol === "cross-dataset";
  const head =
    manifest.options.cnn === "densenet"
      ? cross
        ? await adoptHead(input, context)
        : await trainCnnHead(input, manifest, context)
      : null;
  const networks: TrainJobResult["networks"] = [];
  for (const network of manifest.networks)
    networks.push(
      cross
        ? await adoptTunedNetwork(input, network, context)
        : await tuneNetwork(input, manifest, network, context),
    );
  return {
    modelPrefix: `runs/${input.runId}/models/${input.protocol}`,
    head,
    networks,
    reused: (head?.reused ?? true) && networks.every((network) => network.reused),
  };
}

/** The protocol's training videos with labels and faces, as its split in the manifest names them. */
function trainingVideos(input: TrainJobInput, manifest: RunManifest): LabelledVideo[] {
  const split = manifest.splits[input.protocol];
  if (!split)
    throw new BadInputError(
      `run ${input.runId} has no ${input.protocol} split in its manifest; re-run the ingest.`,
    );
  return splitVideos(manifest, split.train);
}

/**
 * Trains the regression head of one protocol: the DenseNet features the features stage wrote for the
 * training videos, joined with their per-frame labels, the head trained with its curves and the list
 * of samples it saw. Nothing is embedded here, so its time does not depend on the backbone. The head
 * is stored under a content address of everything it was trained from (labels, features, options,
 * backbone), so a re-run on the same data reuses it, and the run's models folder gets a copy.
 */
async function trainCnnHead(
  input: TrainJobInput,
  manifest: RunManifest,
  context: TrainJobContext,
): Promise<HeadResult> {
  const { storage } = context;
  const videos = trainingVideos(input, manifest);
  if (videos.length === 0) {
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: no training video has both labels and faces (see the manifest's exclusions).`,
    );
  }
  const backbone = manifest.features;
  if (!backbone)
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: the manifest names no features (every features job failed; see its exclusions).`,
    );
  const headHash = addresses.head({
    trainSet: videos
      .map((video) => ({
        labelsKey: video.labelsKey,
        featuresKeys: video.segments.flatMap((segment) => segment.featuresKey ?? []),
      }))
      .sort((a, b) => a.labelsKey.localeCompare(b.labelsKey)),
    weightsHash: backbone.weights.weightsHash,
    options: input.options,
  });
  const reused = await storage.exists(artifactKeys.head(headHash, "head.json"));
  let featureShards = 0;
  if (reused) {
    context.logger?.info({ headHash }, "head exists for these inputs and options; reusing it");
  } else {
    const frames = await loadFrameSet(storage, videos, (done, total) =>
      context.progress?.("features", done, total),
    );
    featureShards = frames.shards;
    if (frames.hrBpm.length < 10) {
      throw new BadInputError(
        `run ${input.runId}, ${input.protocol}: only ${frames.hrBpm.length} labelled face frames to train on.`,
      );
    }
    const head = await trainHead(frames.features, frames.hrBpm, {
      ...input.options,
      onEpoch: (curve) => {
        context.progress?.("epochs", curve.epoch, input.options.epochs);
        context.logger?.debug(curve, "epoch");
      },
    });
    const files = await serialiseHead(head);
    const valSet = new Set(head.valIndices);
    await storage.put(artifactKeys.head(headHash, "weights.bin"), files.weightsBin);
    await storage.put(artifactKeys.head(headHash, "head.safetensors"), files.safetensors);
    await writeArtifact(
      storage,
      artifactKeys.head(headHash, "model.json"),
      layersModelSchema,
      files.modelJson,
    );
    await writeArtifact(storage, artifactKeys.head(headHash, "curves.json"), trainingCurvesSchema, {
      bestEpoch: head.bestEpoch,
      valRmseBpm: head.valRmse,
      lossUnits: "mean squared error of standardised labels",
      epochs: head.curves,
    });
    await writeArtifact(storage, artifactKeys.head(headHash, "samples.json"), trainingSamplesSchema, {
      columns: ["participant", "videoId", "frameIndex", "hrBpm", "split"],
      rows: frames.frameIndex.map((frame, i): [string, string, number, number, "train" | "validation"] => [
        frames.participant[i]!,
        frames.videoId[i]!,
        frame,
        frames.hrBpm[i]!,
        valSet.has(i) ? "validation" : "train",
      ]),
    });
    // Last: its presence marks the head complete.
    await writeArtifact(storage, artifactKeys.head(headHash, "head.json"), headSummarySchema, {
      ...files.info,
      samples: frames.hrBpm.length,
      valRmseBpm: head.valRmse,
    });
    head.model.dispose();
    context.logger?.info(
      { samples: frames.hrBpm.length, valRmseBpm: head.valRmse, bestEpoch: head.bestEpoch },
      "head trained",
    );
  }
  for (const file of headFiles) {
    await storage.put(
      artifactKeys.model(input.runId, input.protocol, file),
      await storage.get(artifactKeys.head(headHash, file)),
    );
  }
  const info = await readArtifact(storage, artifactKeys.head(headHash, "head.json"), headSummarySchema);
  await writeArtifact(
    storage,
    artifactKeys.model(input.runId, input.protocol, "provenance.json"),
    modelProvenanceSchema,
    {
      weights: backbone.weights,
      backend: info.backend,
      options: input.options,
      trainVideos: videos.map((v) => videoRef(v.participant, v.videoId)),
      headHash,
    },
  );
  return {
    headHash,
    trainVideos: videos.length,
    samples: info.samples,
    valRmseBpm: Number.isFinite(info.valRmseBpm) ? info.valRmseBpm : null,
    bestEpoch: info.bestEpoch,
    backend: info.backend,
    featureShards,
    reused,
  };
}

/**
 * cross-dataset: no training. The head another run trained (on another dataset or layout) is copied
 * into this run's models folder with its provenance, so eval tests it on this run's videos exactly as
 * it tests a head trained here; eval refuses it if its backbone differs from the eval worker's.
 */
async function adoptHead(input: TrainJobInput, context: TrainJobContext): Promise<HeadResult> {
  const { storage } = context;
  const source = input.trainedOn;
  if (!source)
    throw new BadInputError(
      `run ${input.runId}, cross-dataset: the train job names no run whose head to test.`,
    );
  const from = (file: Parameters<typeof artifactKeys.model>[2]) =>
    artifactKeys.model(source.runId, source.protocol, file);
  if (!(await storage.exists(from("head.json"))) || !(await storage.exists(from("provenance.json"))))
    throw new BadInputError(
      `run ${source.runId} has no trained head for ${source.protocol} in ${storage.url} (${from("head.json")}); train it first (hrpipe run or hrpipe ingest of that dataset), then test it here.`,
    );
  for (const file of [...headFiles, "provenance.json" as const])
    await storage.put(artifactKeys.model(input.runId, input.protocol, file), await storage.get(from(file)));
  const info = await readArtifact(storage, from("head.json"), headSummarySchema);
  const provenance = await readArtifact(storage, from("provenance.json"), modelProvenanceSchema);
  context.logger?.info({ from: source, headHash: provenance.headHash }, "head of another run adopted");
  return {
    headHash: provenance.headHash,
    trainVideos: provenance.trainVideos.length,
    samples: info.samples,
    valRmseBpm: Number.isFinite(info.valRmseBpm) ? info.valRmseBpm : null,
    bestEpoch: info.bestEpoch,
    backend: info.backend,
    featureShards: 0,
    reused: true,
  };
}

/**
 * The videos that stop a network's tuning early: a seeded share (`validationSplit`) of the training
 * subjects, at least one, so that no subject is in both; by video where there is only one subject.
 */
export function tuningValidation<V extends { participant: string; videoId: string }>(
  videos: V[],
  options: Pick<TrainOptions, "validationSplit" | "seed">,
): { train: V[]; validation: V[] } {
  const subjects = [...new Set(videos.map((v) => v.participant))].sort();
  const byVideo = subjects.length < 2;
  const units = byVideo ? videos.map((v) => videoRef(v.participant, v.videoId)) : subjects;
  if (units.length < 2 || options.validationSplit === 0) return { train: videos, validation: [] };
  const count = Math.min(units.length - 1, Math.max(1, Math.round(options.validationSplit * units.length)));
  const held = new Set(
    seededPermutation(units.length, options.seed)
      .slice(0, count)
      .map((i) => units[i]!),
  );
  const isHeld = (v: V) => held.has(byVideo ? videoRef(v.participant, v.videoId) : v.participant);
  return { train: videos.filter((v) => !isHeld(v)), validation: videos.filter(isHeld) };
}

/**
 * The pulse a network should give on a video: a PPG reference's own waveform where the labels carry
 * it (what the networks were trained against), else a wave from the reference's beats (ECG, RR
 * intervals); labelled as the network's training labels were (PhysNet DiffNormalized, FactorizePhys
 * Standardized).
 */
export function tuningTarget(
  labels: Pick<TrialLabels, "waveform" | "beatTimesS">,
  frames: number,
  fps: number,
  form: TargetForm = "diff-normalized",
): Float64Array {
  if (!labels.waveform) return beatPulseTarget(labels.beatTimesS, frames, fps, form);
  const wave = new Float64Array(frames).fill(Number.NaN);
  labels.waveform.values.slice(0, frames).forEach((value, frame) => {
    if (value !== null) wave[frame] = value;
  });
  return pulseTarget(wave, form);
}

/** A video's network outputs and its reference's target pulse, as tuning reads them. */
async function tuningVideo(
  storage: Storage,
  video: LabelledVideo,
  pulseKey: string,
  form: TargetForm,
): Promise<{ tuning: TuningVideo; target: "waveform" | "beats" }> {
  const shard = decodePulseShard(await storage.get(pulseKey), pulseKey);
  if (!shard.activations)
    throw new BadInputError(`${pulseKey} holds no activations to tune on; run the neural stage again.`);
  const labels = await readArtifact(storage, video.labelsKey, trialLabelsSchema);
  return {
    tuning: {
      activations: shard.activations,
      positions: shard.positions,
      target: tuningTarget(labels, shard.pulse.length, video.fps, form),
      usable: shard.faceFound,
    },
    target: labels.waveform ? "waveform" : "beats",
  };
}

/**
 * Fine-tunes a network's tail for one protocol (tuneTail: negative Pearson against the reference's
 * waveform or a wave from its beats, on the activations the neural stage cached, early stopping on held-out
 * training subjects), stored under a content address of its training set and options, so a re-run
 * on the same data reuses it; the run's models folder gets a copy as `<name>-ft.json`.
 */
async function tuneNetwork(
  input: TrainJobInput,
  manifest: RunManifest,
  network: NetworkRef,
  context: TrainJobContext,
): Promise<TunedResult> {
  const { storage } = context;
  const videos = trainingVideos(input, manifest).filter((v) => v.pulses[network.name]);
  if (videos.length === 0)
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: no training video has labels and a ${network.name} pulse (see the manifest's exclusions).`,
    );
  const { train, validation } = tuningValidation(videos, input.options);
  const options = { ...tailTuningDefaults, seed: input.options.seed };
  const keys = (list: LabelledVideo[]) =>
    list
      .map((v) => ({ labelsKey: v.labelsKey, pulseKey: v.pulses[network.name]! }))
      .sort((a, b) => a.pulseKey.localeCompare(b.pulseKey));
  const tunedHash = addresses.tuned({ train: keys(train), validation: keys(validation), options });
  const key = artifactKeys.tunedNetwork(tunedHash);
  const reused = await storage.exists(key);
  if (!reused) {
    const weights = decodeSafetensors(
      await storage.get(artifactKeys.neuralModel(network.hash, "weights.safetensors")),
      artifactKeys.neuralModel(network.hash, "weights.safetensors"),
    ).tensors;
    const imported = importedTail(network.architecture, weights);
    const modules = tailModules[network.architecture];
    const targets = { waveform: 0, beats: 0 };
    const videoCount = (n: number) => `${n} video${n === 1 ? "" : "s"}`;
    const load = async (list: LabelledVideo[]) => {
      const loaded: TuningVideo[] = [];
      for (const video of list) {
        const { tuning, target } = await tuningVideo(
          storage,
          video,
          video.pulses[network.name]!,
          modules.target,
        );
        targets[target]++;
        loaded.push(tuning);
      }
      return loaded;
    };
    let tuning: ReturnType<typeof tuneTail>;
    const [trainSet, validationSet] = [await load(train), await load(validation)];
    try {
      tuning = tuneTail(trainSet, validationSet, imported, options);
    } catch (error) {
      throw new BadInputError(
        `run ${input.runId}, ${input.protocol}, ${network.name}: ${(error as Error).message}`,
      );
    }
    const refs = (list: LabelledVideo[]) => list.map((v) => videoRef(v.participant, v.videoId));
    await writeArtifact(storage, key, tunedNetworkSchema, {
      format: "hrpipe-tuned-network",
      version: formatVersions.tuned,
      hash: tunedHash,
      network: { name: network.name, hash: network.hash },
      layers: modules.layers,
      tail:
        tuning.tail.kind === "temporal-conv"
          ? { ...tuning.tail, weight: Array.from(tuning.tail.weight) }
          : {
              ...tuning.tail,
              scale: Array.from(tuning.tail.scale),
              shift: Array.from(tuning.tail.shift),
              weight: Array.from(tuning.tail.weight),
            },
      loss: "negative Pearson correlation over 128-frame chunks",
      target: `${[
        ...(targets.waveform ? [`the reference PPG waveform (${videoCount(targets.waveform)})`] : []),
        ...(targets.beats
          ? [`a cosine wave through the reference's beats (${videoCount(targets.beats)})`]
          : []),
      ].join(" and ")}, ${modules.target === "diff-normalized" ? "DiffNormalized" : "Standardized"}`,
      options,
      trainVideos: refs(train),
      validationVideos: refs(validation),
      bestEpoch: tuning.bestEpoch,
      curve: tuning.curve.map((entry) => ({
        ...entry,
        validationLoss: Number.isFinite(entry.validationLoss) ? entry.validationLoss : null,
      })),
      trainChunks: tuning.trainChunks,
      validationChunks: tuning.validationChunks,
      framesPerS: tuning.framesPerS,
      device: "cpu",
    });
    context.logger?.info(
      { network: network.name, bestEpoch: tuning.bestEpoch, trainChunks: tuning.trainChunks },
      "network fine-tuned",
    );
  }
  return keepForRun(input, await readArtifact(storage, key, tunedNetworkSchema), reused, context);
}

/** A fine-tuned network copied into the run's models folder as its protocol's `<name>-ft.json`. */
async function keepForRun(
  input: TrainJobInput,
  tuned: TunedNetwork,
  reused: boolean,
  { storage }: TrainJobContext,
): Promise<TunedResult> {
  await writeArtifact(
    storage,
    artifactKeys.runTunedNetwork(input.runId, input.protocol, tuned.network.name),
    tunedNetworkSchema,
    tuned,
  );
  return {
    name: tuned.network.name,
    tunedHash: tuned.hash,
    trainVideos: tuned.trainVideos.length,
    bestEpoch: tuned.bestEpoch,
    reused,
  };
}

/** cross-dataset: the network another run fine-tuned, copied into this run's models folder. */
async function adoptTunedNetwork(
  input: TrainJobInput,
  network: NetworkRef,
  context: TrainJobContext,
): Promise<TunedResult> {
  const { storage } = context;
  const source = input.trainedOn;
  if (!source)
    throw new BadInputError(
      `run ${input.runId}, cross-dataset: the train job names no run whose network to test.`,
    );
  const from = artifactKeys.runTunedNetwork(source.runId, source.protocol, network.name);
  if (!(await storage.exists(from)))
    throw new BadInputError(
      `run ${source.runId} has no fine-tuned ${network.name} for ${source.protocol} in ${storage.url} (${from}); run that dataset with --neural ${network.name} first, then test it here.`,
    );
  const tuned = await readArtifact(storage, from, tunedNetworkSchema);
  if (tuned.network.hash !== network.hash)
    throw new BadInputError(
      `run ${source.runId} fine-tuned ${network.name} from model ${tuned.network.hash}, but the name now points at ${network.hash}; import the same checkpoint under another name for this run.`,
    );
  return keepForRun(input, tuned, true, context);
}

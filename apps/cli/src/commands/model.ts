import { readFile, writeFile } from "node:fs/promises";
import { decodeSafetensors, encodeSafetensors, getTensor, tensor } from "@hrpipe/contracts";
import { type DenseNetConfig, densenet161, FeatureExtractor } from "@hrpipe/model";
import { createLogger } from "@hrpipe/runtime";
import { ProgressLine, UserError } from "../output.ts";

export const densenet161Url =
  "https://huggingface.co/timm/densenet161.tv_in1k/resolve/main/model.safetensors";

export interface FetchWeightsOptions {
  out: string;
}

/** `hrpipe model fetch-weights`: timm/densenet161.tv_in1k (torchvision's ImageNet weights) from the Hugging Face hub. */
export async function fetchWeightsCommand(options: FetchWeightsOptions): Promise<number> {
  let response: Response;
  try {
    response = await fetch(densenet161Url, { signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new UserError(
      `cannot reach ${new URL(densenet161Url).host} (${(error as Error).cause ?? (error as Error).message}); on an offline machine download ${densenet161Url} elsewhere and pass it with --weights or HRPIPE_DENSENET_WEIGHTS.`,
    );
  }
  if (!response.ok || !response.body)
    throw new UserError(`${densenet161Url} answered ${response.status}; try again later.`);
  const total = Number(response.headers.get("content-length") ?? 0);
  const progress = new ProgressLine("densenet161.tv_in1k");
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    received += chunk.length;
    progress.update(received, total || received, "bytes");
  }
  const bytes = Buffer.concat(chunks);
  // Checks the names and shapes before anything is written: a wrong file fails here, not in a worker.
  await (await FeatureExtractor.create({ weights: { bytes, source: densenet161Url } })).close();
  await writeFile(options.out, bytes);
  process.stdout.write(
    `${options.out}: DenseNet-161 ImageNet weights (${(bytes.length / 1e6).toFixed(1)} MB); use them with HRPIPE_DENSENET_WEIGHTS=${options.out}\n`,
  );
  return 0;
}

export interface EmbedOptions {
  images: string;
  out: string;
  weights?: string;
  arch: string;
  batch: string;
}

async function architecture(arch: string): Promise<DenseNetConfig> {
  if (arch === "densenet161") return densenet161;
  try {
    const config = JSON.parse(await readFile(arch, "utf8")) as Partial<DenseNetConfig>;
    if (!Array.isArray(config.blockConfig) || !config.growthRate || !config.numInitFeatures || !config.bnSize)
      throw new Error("missing fields");
    return {
      growthRate: config.growthRate,
      blockConfig: config.blockConfig,
      numInitFeatures: config.numInitFeatures,
      bnSize: config.bnSize,
    };
  } catch (error) {
    throw new UserError(
      `--arch ${arch} is neither densenet161 nor a readable config.json with growthRate, blockConfig, numInitFeatures, bnSize (${(error as Error).message}).`,
    );
  }
}

/** `hrpipe model embed`: DenseNet features for `images` U8 [N,H,W,3] in a safetensors file. */
export async function embedCommand(options: EmbedOptions): Promise<number> {
  const config = await architecture(options.arch);
  const images = getTensor(
    decodeSafetensors(await readFile(options.images), options.images),
    "images",
    "U8",
    4,
  );
  const [count, height, width, channels] = images.shape as [number, number, number, number];
  if (channels !== 3)
    throw new UserError(
      `${options.images}: images must be [N,H,W,3] RGB, got ${JSON.stringify(images.shape)}.`,
    );
  const weights = options.weights
    ? { bytes: await readFile(options.weights), source: options.weights }
    : undefined;
  const extractor = await FeatureExtractor.create({
    config,
    weights,
    batchSize: Number(options.batch),
    logger: createLogger({ level: "warn" }),
  });
  const progress = new ProgressLine("embed");
  const started = performance.now();
  const features = await extractor.embed(images.data, { count, height, width }, (done, total) =>
    progress.update(done, total, "images"),
  );
  const seconds = (performance.now() - started) / 1000;
  await extractor.close();
  await writeFile(
    options.out,
    encodeSafetensors(
      { features: tensor("F32", [count, extractor.featureDim], features) },
      {
        weights: extractor.provenance.kind,
        weightsSource: extractor.provenance.source,
        weightsHash: extractor.provenance.weightsHash,
      },
    ),
  );
  process.stdout.write(
    `${options.out}: features F32 [${count},${extractor.featureDim}] (${extractor.provenance.kind} backbone, ${extractor.executionProvider}), ${(count / seconds).toFixed(1)} img/s\n`,
  );
  return 0;
}

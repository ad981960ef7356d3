import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { encodeFacesShard, encodeTracesShard, faceOptionsSchema, flagOfField } from "@hrpipe/contracts";
import {
  analyseFaces,
  cropMargin,
  decodePictures,
  FaceDetector,
  LandmarkDetector,
  skinArea,
  squareCrop,
  wholeVideo,
} from "@hrpipe/face";
import { probeVideo } from "@hrpipe/media";
import { planSegments } from "@hrpipe/worker-decode";
import sharp from "sharp";
import { formatTable, ProgressLine, UserError } from "../output.ts";
import { OutputFolder } from "../output-folder.ts";

export interface FacesCommandOptions {
  out: string;
  /** Write into a non-empty folder hrpipe did not make (nothing there is deleted). */
  force?: boolean;
  sampleFps: string;
  detector: string;
  detectEvery: number;
  skinArea: string;
  analysisSide: number;
  segment: number;
}

interface SheetTile {
  crop: Uint8Array;
  timeS: number;
  /** The skin area measured in this frame, in tile pixels: outline first, then the holes. */
  skin?: Float64Array[];
}

const maxTiles = 60;
const tileLabelHeight = 16;

/** A tile's caption as SVG, which sharp renders with the system's fonts. */
function captionSvg(text: string, width: number): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${tileLabelHeight}">` +
      `<text x="4" y="12" font-family="DejaVu Sans, sans-serif" font-size="11" fill="#e6e6e6">${text}</text></svg>`,
  );
}

/** The measured skin area over a tile: the outline in green, the cut-out eyes, brows and mouth in red. */
function skinOverlaySvg(polygons: Float64Array[], size: number): Buffer {
  const path = (polygon: Float64Array) =>
    `M${Array.from({ length: polygon.length / 2 }, (_, i) => `${polygon[i * 2]!.toFixed(1)},${polygon[i * 2 + 1]!.toFixed(1)}`).join("L")}Z`;
  const [outline, ...holes] = polygons;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">` +
      `<path d="${path(outline!)}" fill="#2ca02c" fill-opacity="0.18" stroke="#2ca02c" stroke-width="1"/>` +
      holes
        .map((hole) => `<path d="${path(hole)}" fill="none" stroke="#d62728" stroke-width="1"/>`)
        .join("") +
      "</svg>",
  );
}

/** Sampled crops in rows of ten, each captioned with its time and overlaid with the skin it measured, as one PNG. */
async function writeContactSheet(file: string, tiles: SheetTile[], size: number): Promise<void> {
  const columns = Math.min(10, Math.max(1, tiles.length));
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const cellHeight = size + tileLabelHeight;
  await sharp({
    create: {
      width: columns * size,
      height: rows * cellHeight,
      channels: 3,
      background: { r: 24, g: 24, b: 24 },
    },
  })
    .composite(
      tiles.flatMap((tile, i) => {
        const left = (i % columns) * size;
        const top = Math.floor(i / columns) * cellHeight;
        return [
          {
            input: Buffer.from(tile.crop),
            raw: { width: size, height: size, channels: 3 as const },
            left,
            top,
          },
          ...(tile.skin ? [{ input: skinOverlaySvg(tile.skin, size), left, top }] : []),
          { input: captionSvg(`${tile.timeS.toFixed(1)} s`, size), left, top: top + size },
        ];
      }),
    )
    .png()
    .toFile(file);
}

/** `hrpipe faces <video> --out dir`: decode and face-normalise one video locally, no Redis or storage. */
export async function facesCommand(video: string, options: FacesCommandOptions): Promise<number> {
  if (!existsSync(video)) throw new UserError(`${video} does not exist; pass the path of a video file.`);
  const parsed = faceOptionsSchema.safeParse({
    detector: options.detector,
    detectEvery: options.detectEvery,
    skinArea: options.skinArea,
    analysisSide: options.analysisSide,
  });
  if (!parsed.success)
    throw new UserError(
      `${flagOfField(`face.${String(parsed.error.issues[0]!.path[0])}`) ?? "--detector"} is invalid: ${parsed.error.issues[0]!.message}.`,
    );
  const faceOptions = parsed.data;
  const sampleFps = Number(options.sampleFps);
  if (!(sampleFps > 0))
    throw new UserError(`--sample-fps must be a positive number, got ${options.sampleFps}.`);
  const segmentS = options.segment;
  if (!(segmentS > 0))
    throw new UserError(`--segment must be a positive number of seconds, got ${options.segment}.`);

  const info = await probeVideo(video);
  const detector = await FaceDetector.create({
    kind: faceOptions.detector,
    inputSize: faceOptions.inputSize,
  });
  const landmarks = faceOptions.skinArea === "landmarks" ? await LandmarkDetector.create() : undefined;
  const out = await OutputFolder.open(options.out, { command: "faces", force: options.force });
  // Decoding straight from the source needs no chunks; the segment plan is the decode stage's own.
  const plans = planSegments(info, segmentS);
  const sampleEveryS = Math.max(1 / sampleFps, info.durationS / maxTiles);
  const tiles: SheetTile[] = [];
  const progress = new ProgressLine(`faces ${path.basename(video)}`);
  const videoName = path.basename(video, path.extname(video));
  let framesDone = 0;
  let facesFound = 0;
  const started = performance.now();
  for (const plan of plans) {
    const window = { ...wholeVideo(info), firstFrame: plan.firstFrame, frameCount: plan.frameCount };
    const analysis = await analyseFaces(
      decodePictures(video, window, faceOptions),
      window,
      detector,
      faceOptions,
      landmarks,
    );
    const context = {
      participant: "-",
      videoId: videoName,
      segment: plan.segment,
      detector: faceOptions.detector,
      detectEvery: faceOptions.detectEvery,
    };
    const name = `${String(plan.segment).padStart(4, "0")}.safetensors`;
    await writeFile(
      await out.file(path.join("faces", name)),
      encodeFacesShard({ ...analysis, cropSize: faceOptions.cropSize }, context),
    );
    await writeFile(
      await out.file(path.join("traces", name)),
      encodeTracesShard({ ...analysis, timeS: analysis.traceTimeS }, context),
    );
    const cropBytes = faceOptions.cropSize * faceOptions.cropSize * 3;
    analysis.timeS.forEach((timeS, i) => {
      const last = tiles[tiles.length - 1];
      if (tiles.length < maxTiles && (!last || timeS - last.timeS >= sampleEveryS - 1e-6)) {
        const local = analysis.frameIndex[i]! - window.firstFrame;
        const [x, y, width, height] = analysis.box.subarray(i * 4, i * 4 + 4);
        const crop = squareCrop({ x: x!, y: y!, width: width!, height: height! }, cropMargin);
        const scale = faceOptions.cropSize / crop.width;
        const toTile = (polygon: Float64Array) =>
          polygon.map((v, k) => (k % 2 === 0 ? (v - crop.x) * scale : (v - crop.y) * scale));
        const area =
          analysis.landmarks && skinArea(analysis.landmarks.subarray(local * 136, (local + 1) * 136));
        tiles.push({
          crop: analysis.images.subarray(i * cropBytes, (i + 1) * cropBytes),
          timeS,
          ...(area ? { skin: [area.outline, ...area.holes].map(toTile) } : {}),
        });
      }
    });
    framesDone += plan.frameCount;
    facesFound += analysis.frameIndex.length;
    progress.update(
      framesDone,
      info.frameCount,
      `frames, ${(framesDone / ((performance.now() - started) / 1000)).toFixed(1)} fps`,
    );
  }
  const sheet = await out.file("contact-sheet.png");
  await writeContactSheet(sheet, tiles, faceOptions.cropSize);
  await out.finish();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${formatTable(
      ["video", "frames", "faces found", "size", "throughput"],
      [
        [
          path.basename(video),
          String(info.frameCount),
          `${facesFound} (${((100 * facesFound) / info.frameCount).toFixed(1)}%)`,
          `${info.width}x${info.height} @ ${info.fps} fps`,
          `${(info.frameCount / seconds).toFixed(1)} frames/s`,
        ],
      ],
    )}\n\nshards in ${path.join(options.out, "faces")} and ${path.join(options.out, "traces")}; contact sheet ${sheet}\n`,
  );
  return facesFound > 0 ? 0 : 1;
}

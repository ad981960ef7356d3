import {
  type DecodeOptions,
  decodeFrames,
  probeVideo,
  type VideoInfo,
  type YuvMatrix,
  yuv420Matrix,
} from "@hrpipe/media";
import { type Box, skinMean as boxSkinMean, frameMean, type SkinMean, squareCrop } from "./image.ts";
import { Picture } from "./picture.ts";
import { skinArea, skinAreaMean } from "./skin-area.ts";
import { FaceTracker } from "./tracker.ts";

/** Finds the 68 landmarks of the face in a box (LandmarkDetector). */
export interface LandmarkLocator {
  locate(picture: Picture, box: Box): Promise<Float32Array>;
}

export interface Detector {
  /** The longest image side the detector's network looks at: frames are padded to a square and resized to it. */
  readonly inputSize: number;
  /** The network size used for a region around a face already found. */
  readonly regionInputSize: number;
  /** Every face in a picture (or in `region` of it), largest first, in its pixels, at a network size of `inputSize`. */
  detect(picture: Picture, inputSize?: number, region?: Box): Promise<Box[]>;
}

/** Margin of the square searched around a tracked face (1: twice its size), room for head motion. */
const regionMargin = 1;

/**
 * The largest face in a frame, in frame pixels; with `near`, the largest face in the square twice its
 * size around it, at the detector's region size.
 */
export async function detectLargestFace(
  detector: Detector,
  picture: Picture,
  near?: Box,
): Promise<Box | null> {
  const faces = near
    ? await detector.detect(picture, detector.regionInputSize, squareCrop(near, regionMargin))
    : await detector.detect(picture);
  return faces[0] ?? null;
}

export interface FrameWindow {
  firstFrame: number;
  frameCount: number;
  fps: number;
  /** Container time of frame 0, where a file's first frame is not at 0 (see VideoInfo.originS). */
  originS?: number;
  width: number;
  height: number;
  /**
   * The matrix of a video whose pictures convert exactly from their 4:2:0 planes (yuv420Matrix): then
   * frames analysed at the stored size or at half of it come from ffmpeg as 4:2:0 at the stored size,
   * and only the pixels the analysis reads are converted (yuv420RowConverter).
   */
  yuv420?: YuvMatrix;
}

/** Extra width around the face box in a crop: 20%, forehead and chin included. */
export const cropMargin = 0.2;

export interface AnalyseOptions {
  /** Run the detector every this many frames and interpolate the box in between. */
  detectEvery: number;
  cropSize: number;
  /** Extra width around the face in the square crop (default cropMargin, 20%). */
  cropMargin?: number;
  /** With a landmark locator: run it every this many frames (default 1), moving the last landmarks with the box in between. */
  landmarkEvery?: number;
  /**
   * The longer side frames are analysed at, at least (see the face options' analysisSide); default 0,
   * every frame at its stored size. Boxes and landmarks are given in the video's own pixels either way.
   */
  analysisSide?: number;
  /**
   * Keep a crop of every frame with a face (default true): the faces shard and the networks read them.
   * Without, `images` is empty and the frames are not resized for it (the classical methods read the traces only).
   */
  crops?: boolean;
}

/** Face crops and skin traces of one frame window: the content of a faces and a traces shard. */
export interface FaceAnalysis {
  /** Crops of the frames with a face: [faces, cropSize, cropSize, 3]. */
  images: Uint8Array;
  frameIndex: Int32Array;
  timeS: Float32Array;
  /** The face box of each crop, [x, y, width, height] in source pixels. */
  box: Float32Array;
  /** Mean skin colour of every frame (NaN where no face), [frames, 3]: the rPPG methods' input. */
  rgb: Float32Array;
  traceTimeS: Float32Array;
  faceFound: Uint8Array;
  detectorCalls: number;
  /** The boxes used per frame, for checks of the tracking. */
  boxes: (Box | null)[];
  /** With a landmark locator: the 68 landmarks of every frame with a face (NaN elsewhere), [frames, 68, 2]. */
  landmarks?: Float32Array;
}

/** What one frame showed: the face box held there and its skin's mean colour (null without a face). */
export interface FrameFace {
  box: Box | null;
  /** Null where no face was held or its skin area held no pixel. */
  skin: SkinMean | null;
  /** With a landmark locator, the 68 landmarks [68 x 2] where a face was held. */
  landmarks?: Float32Array;
}

/**
 * Follows the face from frame to frame: the largest face is detected in the whole frame, then tracked
 * by its content (FaceTracker) and looked for again every `detectEvery` frames in the region around
 * it; detections correct the track gently, and a face missed by the detector is held for up to 2 s.
 * `detectEvery` 1 is the study's method instead: a whole-frame detection in every frame, its box
 * used as it is. With a landmark locator, the skin colour is measured over the landmarks' skin area
 * (skin-area.ts); without one, over the face box's ellipse less the eye band and the mouth. One
 * instance per stream of frames, fed in order: a video's frame window, or a live source.
 */
export class FaceFollower {
  detectorCalls = 0;
  private readonly tracker = new FaceTracker();
  private lastDetected = -Infinity;
  private lastLandmarks: { frame: number; box: Box; points: Float32Array } | undefined;
  private frame = 0;

  constructor(
    private readonly detector: Detector,
    private readonly options: AnalyseOptions,
    /** The stream's frame rate: a face missed for 2 s is let go. */
    private readonly fps: number,
    private readonly landmarker?: LandmarkLocator,
  ) {}

  /** The next frame of the stream. */
  async next(picture: Picture): Promise<FrameFace> {
    const local = this.frame++;
    const step = Math.max(1, this.options.detectEvery);
    if (step === 1) return this.measure(local, picture, await this.detectLargest(picture, undefined));
    let box = this.tracker.track(picture);
    // Detect on schedule, and on every frame while no face is held.
    if (!box || local % step === 0) {
      const detection = await this.detectLargest(picture, box);
      if (detection) {
        box = this.tracker.correct(detection, picture);
        this.lastDetected = local;
      } else if (local - this.lastDetected > Math.round(this.fps * 2)) {
        // The face is gone (or was never there); a box is only held through short detector misses.
        this.tracker.reset();
        box = undefined;
      }
    }
    return this.measure(local, picture, box ?? null);
  }

  /** Around the tracked face when there is one, and in the whole frame when that finds nothing. */
  private async detectLargest(picture: Picture, tracked: Box | undefined): Promise<Box | null> {
    this.detectorCalls++;
    const near = tracked && (await detectLargestFace(this.detector, picture, tracked));
    if (near) return near;
    if (tracked) this.detectorCalls++;
    return detectLargestFace(this.detector, picture);
  }

  private async measure(local: number, picture: Picture, box: Box | null): Promise<FrameFace> {
    if (!box) return { box, skin: null };
    if (!this.landmarker) {
      const skin = boxSkinMean(picture, box);
      return { box, skin: skin.pixels > 0 ? skin : null };
    }
    const every = Math.max(1, this.options.landmarkEvery ?? 1);
    const last = this.lastLandmarks;
    const points =
      last && local - last.frame < every
        ? movedWithBox(last.points, last.box, box)
        : await this.landmarker.locate(picture, box);
    if (!last || local - last.frame >= every) this.lastLandmarks = { frame: local, box, points };
    const skin = skinAreaMean(picture, skinArea(points));
    return { box, skin: skin.pixels > 0 ? skin : null, landmarks: points };
  }
}

/**
 * Finds the face in every frame of a window (FaceFollower) and keeps what the face and traces shards
 * hold: a crop of every frame with a face, its box, and every frame's skin colour. Frames without a
 * face are flagged, never filled with the whole frame.
 */
export async function analyseFaces(
  frames: AsyncIterable<Picture>,
  window: FrameWindow,
  detector: Detector,
  options: AnalyseOptions,
  landmarker?: LandmarkLocator,
): Promise<FaceAnalysis> {
  const { frameCount } = window;
  const size = options.cropSize;
  const margin = options.cropMargin ?? cropMargin;
  const crops: Uint8Array[] = [];
  const frameIndex: number[] = [];
  const timeS: number[] = [];
  const boxList: number[] = [];
  const rgb = new Float32Array(frameCount * 3).fill(Number.NaN);
  const faceFound = new Uint8Array(frameCount);
  const boxes: (Box | null)[] = new Array(frameCount).fill(null);
  const landmarks = landmarker ? new Float32Array(frameCount * 136).fill(Number.NaN) : undefined;
  const follower = new FaceFollower(detector, options, window.fps, landmarker);
  let local = 0;
  for await (const frame of frames) {
    const face = await follower.next(frame);
    // The follower works in the picture's pixels, which may be a fraction of the video's (analysisSide).
    const scaleX = window.width / frame.width;
    const scaleY = window.height / frame.height;
    const box = face.box && {
      ...face.box,
      x: face.box.x * scaleX,
      y: face.box.y * scaleY,
      width: face.box.width * scaleX,
      height: face.box.height * scaleY,
    };
    boxes[local] = box;
    if (face.landmarks && landmarks)
      landmarks.set(
        face.landmarks.map((v, i) => v * (i % 2 === 0 ? scaleX : scaleY)),
        local * 136,
      );
    if (face.box && face.skin) {
      rgb.set([face.skin.r, face.skin.g, face.skin.b], local * 3);
      faceFound[local] = 1;
      if (options.crops ?? true) crops.push(frame.resized(squareCrop(face.box, margin), size, size));
      frameIndex.push(window.firstFrame + local);
      timeS.push((window.firstFrame + local) / window.fps);
      boxList.push(box!.x, box!.y, box!.width, box!.height);
    }
    local++;
  }

  const images = new Uint8Array(crops.length * size * size * 3);
  for (const [i, crop] of crops.entries()) images.set(crop, i * size * size * 3);
  return {
    images,
    frameIndex: Int32Array.from(frameIndex),
    timeS: Float32Array.from(timeS),
    box: Float32Array.from(boxList),
    rgb,
    traceTimeS: Float32Array.from({ length: frameCount }, (_, i) => (window.firstFrame + i) / window.fps),
    faceFound,
    detectorCalls: follower.detectorCalls,
    boxes,
    ...(landmarks ? { landmarks } : {}),
  };
}

/**
 * A frame window of a video that is all skin (a fingertip on the lens, a cropped cheek): every frame's
 * whole picture is its skin area and its crop, no detector runs. What `--skin-area whole-frame` measures.
 */
export async function analyseWholeFrames(
  frames: AsyncIterable<Picture>,
  window: FrameWindow,
  options: Pick<AnalyseOptions, "cropSize" | "crops">,
): Promise<FaceAnalysis> {
  const { frameCount, width, height } = window;
  const size = options.cropSize;
  const whole: Box = { x: 0, y: 0, width, height };
  const rgb = new Float32Array(frameCount * 3).fill(Number.NaN);
  const faceFound = new Uint8Array(frameCount);
  const crops: Uint8Array[] = [];
  let local = 0;
  for await (const frame of frames) {
    if (local >= frameCount) break;
    const mean = frameMean(frame);
    rgb.set([mean.r, mean.g, mean.b], local * 3);
    faceFound[local] = 1;
    if (options.crops ?? true) crops.push(frame.resized(whole, size, size));
    local++;
  }
  const images = new Uint8Array(crops.length * size * size * 3);
  for (const [i, crop] of crops.entries()) images.set(crop, i * size * size * 3);
  const frameIndex = Int32Array.from({ length: local }, (_, i) => window.firstFrame + i);
  return {
    images,
    frameIndex,
    timeS: Float32Array.from(frameIndex, (frame) => frame / window.fps),
    box: Float32Array.from({ length: local * 4 }, (_, i) => [0, 0, width, height][i % 4]!),
    rgb,
    traceTimeS: Float32Array.from({ length: frameCount }, (_, i) => (window.firstFrame + i) / window.fps),
    faceFound,
    detectorCalls: 0,
    boxes: Array.from({ length: frameCount }, (_, i) => (i < local ? whole : null)),
  };
}

/** Landmarks found in box `from`, carried to box `to` by the boxes' shift and scale. */
function movedWithBox(points: Float32Array, from: Box, to: Box): Float32Array {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return points.map((v, i) => (i % 2 === 0 ? to.x + (v - from.x) * sx : to.y + (v - from.y) * sy));
}

/**
 * The size a video of width x height is analysed at: the largest integer fraction of it whose longer
 * side is at least `analysisSide` (AnalyseOptions), or its own size.
 */
export function analysisSize(
  width: number,
  height: number,
  analysisSide = 0,
): { width: number; height: number } {
  const divisor = analysisSide > 0 ? Math.max(1, Math.floor(Math.max(width, height) / analysisSide)) : 1;
  return { width: Math.floor(width / divisor), height: Math.floor(height / divisor) };
}

/**
 * The frames of a window of a video file as pictures at the size `analysisSide` asks for
 * (analysisSize), each valid until the next is asked for. A 4:2:0 video (FrameWindow.yuv420) analysed
 * at its size or at half of it is carried as 4:2:0 and converted (and halved) where read: ffmpeg's
 * scaling to RGB24 cost more than the whole analysis of the face it holds. Other sizes and videos
 * come from ffmpeg as RGB24, scaled by area averaging.
 */
export async function* decodePictures(
  file: string,
  window: FrameWindow,
  options: Pick<DecodeOptions, "format"> & Pick<AnalyseOptions, "analysisSide"> = {},
): AsyncGenerator<Picture> {
  const size = analysisSize(window.width, window.height, options.analysisSide);
  const { width, height } = size;
  const halved = width * 2 === window.width && height * 2 === window.height;
  if (window.yuv420 && (halved || (width === window.width && height === window.height))) {
    const rgb = new Uint8Array(width * height * 3);
    const decoded = decodeFrames(file, window, window, { format: options.format, pixelFormat: "yuv420p" });
    for await (const planes of decoded)
      yield Picture.fromYuv420(planes, width, height, rgb, window.yuv420, halved);
    return;
  }
  for await (const frame of decodeFrames(file, window, window, { ...size, format: options.format }))
    yield new Picture(frame, width, height);
}

/** The frame window of a whole video. */
export function wholeVideo(info: VideoInfo): FrameWindow {
  return {
    firstFrame: 0,
    frameCount: info.frameCount,
    fps: info.fps,
    originS: info.originS,
    width: info.width,
    height: info.height,
    yuv420: yuv420Matrix(info),
  };
}

/** Every frame of a video file, analysed from start to end (for local tools, tests and benchmarks). */
export async function analyseVideo(
  file: string,
  detector: Detector,
  options: AnalyseOptions,
  frames: (all: AsyncIterable<Picture>, total: number) => AsyncIterable<Picture> = (all) => all,
  landmarker?: LandmarkLocator,
): Promise<{ info: VideoInfo; window: FrameWindow; analysis: FaceAnalysis }> {
  const info = await probeVideo(file);
  const window = wholeVideo(info);
  const analysis = await analyseFaces(
    frames(decodePictures(file, window, options), info.frameCount),
    window,
    detector,
    options,
    landmarker,
  );
  return { info, window, analysis };
}

import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, open, openSync } from "node:fs";
import { rm, symlink } from "node:fs/promises";
import { type OnReadOpts, Socket, type SocketConstructorOpts } from "node:net";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { promisify } from "node:util";
import { resolveTool } from "./binaries.ts";
import { type LaunchResult, launcher } from "./launcher.ts";
import { scratchDir } from "./scratch.ts";
import { yuv420Bytes } from "./yuv.ts";

const openAsync = promisify(open);

/** ffmpeg or ffprobe failed; the message carries the file and ffmpeg's own last words. */
export class MediaError extends Error {
  override name = "MediaError";
}

function lastLines(stderr: string, count = 3): string {
  return stderr.trim().split("\n").slice(-count).join(" | ").trim();
}

/**
 * The containers hrpipe reads, as ffmpeg names its demuxers: QuickTime/MP4, Matroska/WebM, AVI and
 * MPEG-TS. Anything else (an HLS playlist or a concat list saved as .mov, say) is refused before it
 * can make ffmpeg open other files.
 */
export const videoInputFormats = ["mov", "matroska", "avi", "mpegts"] as const;

/**
 * The arguments that open one input file and nothing else: the file protocol only, the given
 * demuxers only (an explicit `format` for hrpipe's own files), and the file as an absolute `file:`
 * path, so that a name like `-x.mp4` or `concat:a.mp4|b.mp4` is only ever a file name.
 */
export function inputArgs(
  file: string,
  formats: readonly string[] = videoInputFormats,
  format?: string,
): string[] {
  return [
    ...["-protocol_whitelist", "file", "-format_whitelist", formats.join(",")],
    ...(format ? ["-f", format] : []),
    ...["-i", `file:${path.resolve(file)}`],
  ];
}

function run(tool: "ffmpeg" | "ffprobe", args: string[]): Promise<LaunchResult> {
  return launcher.launch(resolveTool(tool).path, args, { stdout: true }).result;
}

export interface VideoInfo {
  durationS: number;
  /** The average frame rate: frame k of the decoded video is the picture on screen k / fps after frame 0. */
  fps: number;
  /** Container time (s) of the first frame: 0 for most files, 1.4 for an MPEG-TS stream, say. */
  originS: number;
  /**
   * Frames on that constant-rate grid, from the first coded frame to the last. A constant frame-rate
   * file has as many as it has coded frames; a variable one (phones record so) about as many.
   */
  frameCount: number;
  /** Whether the coded frames' times stray from the grid by a quarter of a frame or more. */
  variableFrameRate: boolean;
  /** Presentation times (s) of the keyframes, where decoding can start. */
  keyframeTimesS: number[];
  /** The longest time (s) between consecutive coded frames: one frame at a constant rate. */
  longestFrameGapS: number;
  width: number;
  height: number;
  /** Display rotation in degrees (0, 90, 180, 270). */
  rotation: number;
  codec: string;
  /** ffprobe's names: yuv420p, say; the colour matrix (bt709, smpte170m, unknown...) and range (tv, pc, unknown). */
  pixelFormat: string;
  colorSpace: string;
  colorRange: string;
}

function parseRate(rate: string | undefined): number {
  const [num, den] = (rate ?? "0/1").split("/").map(Number);
  return den ? num! / den : 0;
}

/**
 * Probes the first video stream of a file, reading every packet's time and flags (not decoding): a
 * truncated file is refused here, and the frame grid decodeFrames puts the frames on is measured.
 */
export async function probeVideo(
  file: string,
  options: {
    /** The rate the frames run at where the caller knows it better than the container (retimeVideo's copies). */
    fps?: number;
  } = {},
): Promise<VideoInfo> {
  const result = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration,pix_fmt,color_space,color_range:stream_tags=rotate:stream_side_data=rotation:format=duration:packet=pts_time,dts_time,flags",
    "-of",
    "json",
    ...inputArgs(file),
  ]);
  if (result.code !== 0)
    throw new MediaError(
      `${file} cannot be probed: ${lastLines(result.stderr) || `ffprobe exited ${result.code}`}.`,
    );
  const parsed = JSON.parse(result.stdout.toString()) as {
    packets?: { pts_time?: string; dts_time?: string; flags?: string }[];
    streams?: {
      codec_name: string;
      width: number;
      height: number;
      avg_frame_rate?: string;
      r_frame_rate?: string;
      nb_frames?: string;
      duration?: string;
      pix_fmt?: string;
      color_space?: string;
      color_range?: string;
      tags?: { rotate?: string };
      side_data_list?: { rotation?: number }[];
    }[];
    format?: { duration?: string };
  };
  const stream = parsed.streams?.[0];
  if (!stream) throw new MediaError(`${file} has no video stream.`);
  // AVI stores no presentation times: there the decoding times are the frames' times.
  const packets = (parsed.packets ?? [])
    .map((packet) => ({
      timeS: Number.isFinite(Number(packet.pts_time)) ? Number(packet.pts_time) : Number(packet.dts_time),
      key: packet.flags?.includes("K") ?? false,
    }))
    .filter((packet) => Number.isFinite(packet.timeS))
    .sort((a, b) => a.timeS - b.timeS);
  const fps = options.fps ?? (parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate));
  const declaredFrames = Number(stream.nb_frames ?? 0);
  if (declaredFrames > 0 && packets.length < declaredFrames) {
    throw new MediaError(
      `${file} is truncated: its header lists ${declaredFrames} frames but only ${packets.length} are present.`,
    );
  }
  if (!(fps > 0) || packets.length === 0)
    throw new MediaError(`${file} reports no frames or no frame rate (truncated or not a video?).`);
  const originS = packets[0]!.timeS;
  const frameCount = Math.round((packets.at(-1)!.timeS - originS) * fps) + 1;
  let longestFrameGapS = 1 / fps;
  let variableFrameRate = false;
  for (const [k, packet] of packets.entries()) {
    if (k > 0) longestFrameGapS = Math.max(longestFrameGapS, packet.timeS - packets[k - 1]!.timeS);
    if (Math.abs((packet.timeS - originS) * fps - k) >= 0.25) variableFrameRate = true;
  }
  const durationS = Number(stream.duration ?? parsed.format?.duration ?? frameCount / fps);
  // ffprobe reports the display matrix as a counter-clockwise angle; older files carry a clockwise rotate tag.
  const matrixRotation = stream.side_data_list?.find((side) => side.rotation !== undefined)?.rotation;
  const clockwise = matrixRotation !== undefined ? -matrixRotation : Number(stream.tags?.rotate ?? 0);
  const rotation = ((clockwise % 360) + 360) % 360;
  return {
    durationS,
    fps,
    originS,
    frameCount,
    variableFrameRate,
    keyframeTimesS: packets.filter((packet) => packet.key).map((packet) => packet.timeS),
    longestFrameGapS,
    width: stream.width,
    height: stream.height,
    rotation,
    codec: stream.codec_name,
    pixelFormat: stream.pix_fmt ?? "unknown",
    colorSpace: stream.color_space ?? "unknown",
    colorRange: stream.color_range ?? "unknown",
  };
}

/**
 * Copies the coded frames from `startS` (a keyframe time) for `durationS` into a Matroska file without
 * re-encoding, keeping the source timestamps so that frame k still sits at k / fps.
 */
export async function copySegment(
  file: string,
  out: string,
  startS: number,
  durationS: number,
): Promise<void> {
  const result = await run("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-ss",
    startS.toFixed(6),
    "-t",
    durationS.toFixed(6),
    ...inputArgs(file),
    "-map",
    "0:v:0",
    "-c",
    "copy",
    "-copyts",
    "-f",
    "matroska",
    out,
  ]);
  if (result.code !== 0)
    throw new MediaError(
      `${file} segment at ${startS.toFixed(2)} s cannot be copied: ${lastLines(result.stderr)}.`,
    );
}

/**
 * Copies a file's video stream without re-encoding (the same coded frames) onto a new time line: its
 * first frame (shown at `originS`: 1.4 s into an MPEG-TS stream, say) at time 0, and every time
 * multiplied by `timeScale` (the container's rate over the rate the recording really ran at), so that
 * frame k is at k / fps. A scaled copy is written as QuickTime (or MP4 for the codecs QuickTime does not
 * take, VP9 among them): Matroska keeps declaring the old rate, and QuickTime one near the new (its last
 * frame keeps its old duration), so probe the copy with the new rate (probeVideo's `fps`).
 */
export async function retimeVideo(
  file: string,
  out: string,
  { originS, timeScale }: { originS: number; timeScale: number },
): Promise<void> {
  let stderr = "";
  for (const format of timeScale === 1 ? ["matroska"] : ["mov", "mp4"]) {
    const result = await run("ffmpeg", [
      ...["-v", "error", "-y"],
      ...(timeScale === 1 ? [] : ["-itsscale", timeScale.toFixed(9)]),
      ...inputArgs(file),
      ...["-map", "0:v:0", "-c", "copy", "-copyts"],
      // The first frame's presentation time becomes 0; frames decoded ahead of it keep negative
      // decoding times, which Matroska does not store.
      ...["-output_ts_offset", (-originS * timeScale).toFixed(6), "-avoid_negative_ts", "disabled"],
      ...["-f", format, out],
    ]);
    if (result.code === 0) return;
    stderr = result.stderr;
  }
  throw new MediaError(`${file} cannot be re-timed: ${lastLines(stderr)}.`);
}

export interface FrameRange {
  /** Index of the first frame (frame k is shown k / fps after frame 0). */
  firstFrame: number;
  frameCount: number;
  fps: number;
  /** Container time of frame 0 (VideoInfo.originS); 0 where absent, as in the decode stage's chunks. */
  originS?: number;
}

export interface DecodeOptions {
  /** Output size; default the stored size. Scaling uses area averaging, which preserves mean colour. */
  width?: number;
  height?: number;
  /** The container, where the file is hrpipe's own (the decode stage's Matroska chunks): read as that and nothing else. */
  format?: (typeof videoInputFormats)[number];
  /**
   * What each frame holds: RGB24 (default), or the decoder's 4:2:0 planes (yuv420Bytes) where the
   * caller converts them (yuv420RowConverter; only at the stored size, for a video yuv420Matrix
   * names a matrix for).
   */
  pixelFormat?: "rgb24" | "yuv420p";
}

/** How long before a range decodeFrames starts: the longest gap between frames it bridges. */
const rangeLeadInS = 1;

/**
 * Decodes a frame range to RGB24 frames of width x height x 3 bytes (or 4:2:0, `pixelFormat`), with backpressure: ffmpeg
 * waits while the consumer is busy. Every frame arrives in the same buffer, valid until the next one
 * is requested: copy it (`frame.slice()`) to keep it. Frame k is the picture on screen k / fps after
 * frame 0, give or take half a frame: a constant frame-rate file's k-th coded frame; in a
 * variable one the nearest frame, or in a gap the one still shown. So the time axis downstream is the
 * recording's clock. Seeking is frame-accurate (decode from the previous keyframe, discard up to the
 * range), so consecutive ranges neither repeat nor skip a frame. Fewer frames than asked for is an
 * error naming the file.
 */
export async function* decodeFrames(
  file: string,
  range: FrameRange,
  size: { width: number; height: number },
  options: DecodeOptions = {},
): AsyncGenerator<Uint8Array> {
  const width = options.width ?? size.width;
  const height = options.height ?? size.height;
  const pixelFormat = options.pixelFormat ?? "rgb24";
  if (pixelFormat === "yuv420p" && (width !== size.width || height !== size.height))
    throw new Error(`decodeFrames: ${file} can be decoded to yuv420p only at its stored size.`);
  const frameBytes = pixelFormat === "yuv420p" ? yuv420Bytes(width, height) : width * height * 3;
  // Decoding starts at a keyframe before the range anyway; seeking a second before it also keeps the
  // picture still on screen at the range's start when a variable-rate file has a gap there.
  const firstS = (range.originS ?? 0) + range.firstFrame / range.fps;
  const seekS = Math.max(0, firstS - rangeLeadInS);
  // After the seek, timestamps count from seekS; shifted to count from the first frame's slot, the fps
  // filter keeps for each slot k / fps the last picture shown by half a frame after it (and drops
  // the lead-in). Without it a variable-rate file comes out at its nominal rate, with frames repeated
  // or dropped, off the clock.
  const shiftS = seekS - firstS;
  const filters = [`setpts=PTS+(${shiftS.toFixed(9)})/TB`, `fps=fps=${range.fps.toFixed(9)}:start_time=0`];
  if (width !== size.width || height !== size.height) filters.push(`scale=${width}:${height}:flags=area`);
  // Frames come through a named pipe whose reads land straight in one reused frame buffer. Through
  // the child's stdout every 64 KiB read would be a fresh Buffer: 69 MB a second at 720p, whose
  // collection cost more than the face stage's own work on the frames.
  const dir = await scratchDir("frames");
  const fifo = path.join(dir, "frames.rgb");
  try {
    await makeFifo(fifo);
    const ffmpeg = launcher.launch(resolveTool("ffmpeg").path, [
      "-v",
      "error",
      // Seek by the stored timestamps: a chunk starts at its keyframe's time, not at zero.
      "-seek_timestamp",
      "1",
      ...(seekS > 0 ? ["-ss", seekS.toFixed(6)] : []),
      // One decoding thread: every consumer here takes longer per frame than the decoder, and frame
      // threads cost 10-20% more CPU for nothing (a 10-s chunk: 0.56 -> 0.44 CPU-s).
      "-threads",
      "1",
      ...inputArgs(file, options.format ? [options.format] : videoInputFormats, options.format),
      "-map",
      "0:v:0",
      "-vf",
      filters.join(","),
      "-frames:v",
      String(range.frameCount),
      "-f",
      "rawvideo",
      "-pix_fmt",
      pixelFormat,
      "-y",
      fifo,
    ]);
    const ffmpegEnded = ffmpeg.result.then(
      (result) => ({ result }),
      (failure: Error) => ({ failure }),
    );
    const frame = new Uint8Array(frameBytes);
    let filled = 0;
    let produced = 0;
    let wake: (() => void) | undefined;
    // Reads go straight into the unfilled rest of the frame (Node's `onread`, typed for connect only).
    const onread: OnReadOpts = {
      // Asked for after every read, before the consumer is done with a full frame: the next read goes
      // to the start of the frame, once it is free again.
      buffer: () => frame.subarray(filled === frameBytes ? 0 : filled),
      callback: (bytes) => {
        filled += bytes;
        if (filled < frameBytes) return true;
        wake?.();
        return false; // paused until the consumer is done with the frame
      },
    };
    const reader = new Socket({
      fd: await openForReading(fifo, ffmpegEnded),
      readable: true,
      writable: false,
      onread,
    } as SocketConstructorOpts);
    let ended = false;
    let failure: Error | undefined;
    const stop = () => {
      ended = true;
      wake?.();
    };
    reader
      .on("end", stop)
      .on("close", stop)
      .on("error", (error) => {
        failure = error;
        stop();
      });
    try {
      for (;;) {
        while (filled < frameBytes && !ended)
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        if (failure) throw failure;
        if (filled < frameBytes) break;
        produced++;
        yield frame;
        filled = 0;
        reader.resume();
      }
    } finally {
      ffmpeg.kill();
      reader.destroy();
    }
    const outcome = await ffmpegEnded;
    if ("failure" in outcome)
      throw new MediaError(
        // A system error code (ENOENT, EACCES) is the binary's; without one, the launcher went.
        "code" in outcome.failure
          ? `ffmpeg could not be started to decode ${file} (${outcome.failure.message}); install ffmpeg or fix FFMPEG_PATH.`
          : `decoding ${file} stopped: ${outcome.failure.message}`,
      );
    if (produced < range.frameCount) {
      const { code, stderr } = outcome.result;
      const why = lastLines(stderr) || (code === 0 ? "the stream ended early" : `ffmpeg exited ${code}`);
      throw new MediaError(
        `${file} yielded ${produced} of ${range.frameCount} frames from frame ${range.firstFrame} (truncated or corrupt?): ${why}.`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Opens a named pipe for reading, which waits for its writer. If ffmpeg ends (or cannot start) before
 * the reader is open, a writer opened here releases the reader and is closed once the reader is open,
 * so that the reader sees end of file.
 */
async function openForReading(fifo: string, writerEnded: Promise<unknown>): Promise<number> {
  let opened = false;
  let releaser: number | undefined;
  void writerEnded.then(() => {
    if (!opened) releaser = openSync(fifo, "r+");
  });
  const fd = await openAsync(fifo, "r");
  opened = true;
  if (releaser !== undefined) closeSync(releaser);
  return fd;
}

async function makeFifo(file: string): Promise<void> {
  const failure = await launcher.launch("mkfifo", [file]).result.then(
    (result) =>
      result.code === 0 ? undefined : lastLines(result.stderr, 1) || `mkfifo exited ${result.code}`,
    (error: Error) => error.message,
  );
  if (failure !== undefined)
    throw new MediaError(
      `cannot create the named pipe ${file} for decoded frames (${failure}); hrpipe needs mkfifo (coreutils) on the PATH.`,
    );
}

/**
 * Encodes image files (PNG frames, as PURE keeps them), in the given order, into a lossless FFV1
 * Matroska video at `fps`: frame k of the video is file k, pixel for pixel, and every frame is a
 * keyframe, so the decode stage cuts it like any video. The files must share one extension.
 */
export async function encodeImageSequence(files: string[], fps: number, out: string): Promise<void> {
  const extension = path.extname(files[0] ?? "").toLowerCase();
  const odd = files.find((file) => path.extname(file).toLowerCase() !== extension);
  if (files.length === 0 || !extension || odd !== undefined)
    throw new MediaError(
      `the frames for ${out} ${files.length === 0 ? "are none" : `mix extensions (${files[0]}, ${odd})`}; give image files of one type.`,
    );
  // ffmpeg reads a numbered sequence: links numbered in order, whatever the files' own names.
  const dir = await scratchDir("images");
  try {
    const digits = Math.max(6, String(files.length).length);
    for (const [k, file] of files.entries())
      await symlink(path.resolve(file), path.join(dir, `${String(k).padStart(digits, "0")}${extension}`));
    const result = await run("ffmpeg", [
      ...["-v", "error", "-y", "-framerate", fps.toFixed(9), "-start_number", "0"],
      ...inputArgs(path.join(dir, `%0${digits}d${extension}`), ["image2"], "image2"),
      ...["-c:v", "ffv1", "-level", "3", "-f", "matroska", out],
    ]);
    if (result.code !== 0)
      throw new MediaError(
        `encoding ${files.length} frames from ${path.dirname(files[0]!)} failed: ${lastLines(result.stderr) || `ffmpeg exited ${result.code}`}.`,
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface EncodeOptions {
  width: number;
  height: number;
  fps: number;
  /** x264 constant rate factor: 0 lossless, 18 visually lossless, 23 default. */
  crf?: number;
  preset?: string;
}

/**
 * An H.264 encoder fed RGB24 frames; `write` waits for ffmpeg to drain, so memory stays bounded.
 * The container follows the file extension (.mov for AMIGOS-style videos).
 */
export class VideoEncoder {
  private readonly child: ChildProcessByStdio<Writable, null, Readable>;
  private stderr = "";
  private readonly exited: Promise<[number | null]>;

  constructor(
    private readonly out: string,
    options: EncodeOptions,
  ) {
    this.child = spawn(
      resolveTool("ffmpeg").path,
      [
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        `${options.width}x${options.height}`,
        "-r",
        String(options.fps),
        "-i",
        "pipe:0",
        "-c:v",
        "libx264",
        "-preset",
        options.preset ?? "veryfast",
        "-crf",
        String(options.crf ?? 18),
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        out,
      ],
      { stdio: ["pipe", "ignore", "pipe"] },
    );
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = once(this.child, "close") as Promise<[number | null]>;
  }

  /** Writes one frame. It is copied: a stream keeps what it is given until the pipe takes it, and callers refill one buffer per frame. */
  async write(frame: Uint8Array): Promise<void> {
    if (!this.child.stdin.write(Buffer.from(frame))) await once(this.child.stdin, "drain");
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    const [code] = await this.exited;
    if (code !== 0)
      throw new MediaError(
        `encoding ${this.out} failed: ${lastLines(this.stderr) || `ffmpeg exited ${code}`}.`,
      );
  }
}

import { spawn } from "node:child_process";
import { resolveTool } from "./binaries.ts";
import { inputArgs, videoInputFormats } from "./ffmpeg.ts";

/** What a live source is: a V4L2 camera, a network stream, or a file standing in for either. */
export type LiveSourceKind = "camera" | "stream" | "file";

export function liveSourceKind(source: string): LiveSourceKind {
  if (/^\/dev\/video\d+$/.test(source)) return "camera";
  if (/^(rtsps?|https?):\/\//i.test(source)) return "stream";
  return "file";
}

/** Protocols a network stream may use: RTSP and its transports, HTTP(S) and HLS playlists over them. */
const streamProtocols = ["http", "https", "tcp", "tls", "crypto", "rtp", "rtsp", "rtsps", "udp", "hls"];

/**
 * The ffmpeg input arguments of a live source. A file is opened as the pipeline opens files (the file
 * protocol and video demuxers only); with `realtime` it is read at its own frame rate, as a camera
 * would deliver it, and with `loop` from its start again whenever it ends (for long runs).
 */
export function liveInputArgs(source: string, options: { realtime: boolean; loop?: boolean }): string[] {
  const kind = liveSourceKind(source);
  if (kind === "camera") return ["-f", "v4l2", "-i", source];
  if (kind === "stream")
    return [
      "-protocol_whitelist",
      streamProtocols.join(","),
      ...(options.realtime ? ["-re"] : []),
      "-i",
      source,
    ];
  return [
    ...(options.realtime ? ["-re"] : []),
    ...(options.loop ? ["-stream_loop", "-1"] : []),
    ...inputArgs(source, videoInputFormats),
  ];
}

export interface LiveFrameOptions {
  width: number;
  height: number;
  fps: number;
  realtime: boolean;
  /** A file only: play it again from the start whenever it ends. */
  loop?: boolean;
  /** No frame for this long is a failed source (default 10 s): the reader ends with an error, never hangs. */
  stallS?: number;
}

/** One frame as it arrived. The buffer is reused: copy it to keep it past the next frame. */
export interface LiveFrame {
  rgb: Uint8Array;
  index: number;
  /** performance.now() when its last byte arrived. */
  arrivedMs: number;
}

/** A live source that failed: its message names the source and ffmpeg's last words. */
export class LiveSourceError extends Error {
  override name = "LiveSourceError";
}

/**
 * RGB24 frames of a live source at a fixed size and rate: letterboxed into width x height (area
 * scaling, the aspect kept) and put on an even `fps` clock by ffmpeg. Ends when the source ends;
 * throws LiveSourceError when ffmpeg fails or no frame comes for `stallS`. Ending the iteration early
 * (break, return) stops ffmpeg.
 */
export async function* liveFrames(source: string, options: LiveFrameOptions): AsyncGenerator<LiveFrame> {
  const { width, height, fps } = options;
  const filters = [
    `fps=fps=${fps}`,
    `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=area`,
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`,
  ];
  const child = spawn(
    resolveTool("ffmpeg").path,
    [
      ...["-v", "error", "-nostdin"],
      ...liveInputArgs(source, { realtime: options.realtime, loop: options.loop }),
      ...["-map", "0:v:0", "-vf", filters.join(","), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    ],
    // Its own process group: a terminal's Ctrl-C reaches hrpipe, which ends the stream and stops
    // ffmpeg itself, rather than ffmpeg dying first and the source looking failed.
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const frameBytes = width * height * 3;
  const frame = new Uint8Array(frameBytes);
  let filled = 0;
  let index = 0;
  const stallMs = (options.stallS ?? 10) * 1000;
  const chunks = child.stdout[Symbol.asyncIterator]();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<"stalled">((resolve) => {
        timer = setTimeout(() => resolve("stalled"), stallMs);
      });
      const next = await Promise.race([chunks.next(), stalled]);
      clearTimeout(timer);
      if (next === "stalled")
        throw new LiveSourceError(
          `${source}: no frame for ${stallMs / 1000} s; check that the camera or stream is sending video.`,
        );
      if (next.done) break;
      const chunk = next.value as Buffer;
      for (let offset = 0; offset < chunk.length; ) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          filled = 0;
          yield { rgb: frame, index: index++, arrivedMs: performance.now() };
        }
      }
    }
    const code = await exited;
    if (code !== 0) {
      const said = stderr.trim().split("\n").at(-1) ?? "";
      throw new LiveSourceError(
        `${source}: ffmpeg stopped with exit code ${code}${said ? ` (${said})` : ""}; check the device, URL or file.`,
      );
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
}

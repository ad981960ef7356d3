import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resolveTool } from "@hrpipe/media";

const execFileAsync = promisify(execFile);

/** Writes an RGB24 image as PNG through ffmpeg (already a dependency, so no image library is needed). */
export async function writePng(file: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  const args = [
    "-v",
    "error",
    "-y",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-s",
    `${width}x${height}`,
    "-i",
    "pipe:0",
    "-frames:v",
    "1",
    file,
  ];
  const child = execFileAsync(resolveTool("ffmpeg").path, args);
  child.child.stdin?.end(rgb);
  await child;
}

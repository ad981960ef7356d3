/**
 * One stage of the long-video benchmark in its own process, so that its peak RSS is its own:
 * `decode <dir> <videoKey>` or `face <dir> <jobs.json>`; prints one JSON line.
 */
import { readFileSync } from "node:fs";
import { faceOptionsSchema } from "@hrpipe/contracts";
import { LocalFaceAnalyser } from "@hrpipe/face";
import { FileStorage } from "@hrpipe/runtime";
import { processDecodeJob } from "@hrpipe/worker-decode";
import { type FaceJobInput, processFaceJob } from "@hrpipe/worker-face";

const [stage, dir, arg] = process.argv.slice(2) as [string, string, string];
const storage = new FileStorage(dir);
const face = faceOptionsSchema.parse({ keepChunks: false });
const started = performance.now();
let result: unknown;
if (stage === "decode") {
  const decoded = await processDecodeJob(
    { participant: "P01", videoId: "N1", videoKey: arg, options: { segmentS: 10 }, face },
    { storage },
  );
  const jobs: FaceJobInput[] = decoded.chunks.map((chunk) => ({
    participant: "P01",
    videoId: "N1",
    facesHash: decoded.facesHash,
    segment: chunk.segment,
    chunkKey: chunk.chunkKey,
    chunkSha256: chunk.chunkSha256,
    firstFrame: chunk.firstFrame,
    frameCount: chunk.frameCount,
    fps: decoded.fps,
    width: decoded.width,
    height: decoded.height,
    options: face,
  }));
  result = { jobs };
} else {
  const jobs = JSON.parse(readFileSync(arg, "utf8")) as FaceJobInput[];
  const analyser = new LocalFaceAnalyser();
  let frames = 0;
  let facesFound = 0;
  for (const job of jobs) {
    const done = await processFaceJob(job, { storage, analyser });
    frames += done.frames;
    facesFound += done.facesFound;
  }
  result = { frames, facesFound };
}
process.stdout.write(
  `${JSON.stringify({ ...(result as object), seconds: (performance.now() - started) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);

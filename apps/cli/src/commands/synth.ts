import { loadConfig } from "@hrpipe/contracts";
import { openStorage } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { ProgressLine, UserError, wholeNumber } from "../output.ts";

export interface SynthCommandOptions {
  participants: string;
  videos: string;
  seconds: string;
  seed: string;
  size: string;
}

export function parseSize(size: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(size);
  if (!match) throw new UserError(`--size must be WIDTHxHEIGHT, e.g. 640x360, got ${size}.`);
  const [width, height] = [Number(match[1]), Number(match[2])];
  if (width % 2 || height % 2 || width < 64 || height < 64)
    throw new UserError(`--size ${size} must be even and at least 64x64 (H.264 4:2:0).`);
  return { width, height };
}

/** `hrpipe synth <outUri>`: a synthetic AMIGOS-layout dataset with ground truth. */
export async function synthCommand(outUri: string, options: SynthCommandOptions): Promise<number> {
  const storage = openStorage(outUri, loadConfig());
  const participants = wholeNumber("--participants", options.participants);
  const videos = wholeNumber("--videos", options.videos);
  const progress = new ProgressLine(`synth ${storage.url}`);
  const started = performance.now();
  await synthDataset(storage, {
    participants,
    videos,
    seconds: wholeNumber("--seconds", options.seconds),
    seed: Number(options.seed),
    fps: 25,
    ...parseSize(options.size),
    onVideo: (done, total) => progress.update(done, total, "videos"),
  });
  await storage.close();
  process.stdout.write(
    `${participants} participants x ${videos} videos written to ${storage.url} in ${((performance.now() - started) / 1000).toFixed(1)} s (ecg/, faces/, truth/); ingest it with: hrpipe ingest ${outUri}\n`,
  );
  return 0;
}

import { amigosVideoIds } from "@hrpipe/synth";

/**
 * A synthetic dataset of the real AMIGOS's shape: 40 participants, each with the 16 short videos
 * (ids as the dataset numbers them) and the 4 long ones (N1, P1, B1, U1). Durations are spread
 * deterministically over the dataset's ranges: short videos 51-150 s (mean about 100 s), long ones
 * 15-24 min.
 */
export const amigosShape = {
  participants: Array.from({ length: 40 }, (_, i) => `P${String(i + 1).padStart(2, "0")}`),
  shortVideoIds: amigosVideoIds,
  longVideoIds: ["N1", "P1", "B1", "U1"],
  get videoIds(): string[] {
    return [...this.shortVideoIds, ...this.longVideoIds];
  },
};

/** A video's duration in seconds, fixed by its participant and id. */
export function videoSeconds(participant: string, videoId: string): number {
  const p = Number(participant.slice(1));
  const short = amigosShape.shortVideoIds.indexOf(videoId);
  if (short >= 0) return 51 + ((short * 37 + p * 11) % 100);
  const long = amigosShape.longVideoIds.indexOf(videoId);
  return 60 * (15 + ((long * 5 + p * 3) % 10));
}

/** Face segments of 10 s in the whole dataset (one face and one features job each). */
export function segmentCount(segmentS = 10): number {
  let count = 0;
  for (const participant of amigosShape.participants)
    for (const videoId of amigosShape.videoIds)
      count += Math.ceil(videoSeconds(participant, videoId) / segmentS);
  return count;
}

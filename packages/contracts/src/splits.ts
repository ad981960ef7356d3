import type { ProtocolName } from "./payloads.ts";
import { seededPermutation } from "./random.ts";

export interface SplitVideo {
  participant: string;
  videoId: string;
}

export interface ProtocolSplit {
  train: string[];
  test: string[];
  rule: string;
}

const ref = (v: SplitVideo) => `${v.participant}/${v.videoId}`;

/**
 * cross-dataset: every video is tested (the head was trained on another run's dataset). The study's two protocols. unseen-participants: the last 5 participants in id order are tested
 * (fewer on small datasets, so that at least 2 train) unless `testParticipants` names them.
 * unseen-videos: per participant, a seeded 75/25 split of its videos (at least one test video when
 * it has two or more).
 */
export function protocolSplit(
  protocol: ProtocolName,
  videos: SplitVideo[],
  options: { seed: number; testParticipants?: string[] },
): ProtocolSplit {
  const participants = [...new Set(videos.map((v) => v.participant))].sort();
  if (protocol === "cross-dataset")
    return {
      train: [],
      test: videos.map(ref),
      rule: "every video with a reference is tested by a head trained on another dataset",
    };
  if (protocol === "unseen-participants") {
    const testCount = Math.max(1, Math.min(5, participants.length - 2));
    const test = new Set(options.testParticipants ?? participants.slice(-testCount));
    return {
      train: videos.filter((v) => !test.has(v.participant)).map(ref),
      test: videos.filter((v) => test.has(v.participant)).map(ref),
      rule: options.testParticipants
        ? `test participants given: ${[...test].join(", ")}`
        : `last ${testCount} of ${participants.length} participants in id order tested: ${[...test].join(", ")}`,
    };
  }
  const train: string[] = [];
  const test: string[] = [];
  for (const participant of participants) {
    const own = videos
      .filter((v) => v.participant === participant)
      .sort((a, b) => a.videoId.localeCompare(b.videoId));
    // The participant's number (P07 -> 7, subject12 -> 12) varies the shuffle from one to the next.
    const number = Number(/\d+$/.exec(participant)?.[0] ?? 0);
    const shuffled = seededPermutation(own.length, options.seed + number).map((i) => own[i]!);
    const testCount = own.length >= 2 ? Math.max(1, Math.round(own.length * 0.25)) : 0;
    test.push(...shuffled.slice(0, testCount).map(ref));
    train.push(...shuffled.slice(testCount).map(ref));
  }
  return { train, test, rule: `per participant, a seeded (seed ${options.seed}) 75/25 split of its videos` };
}

import {
  basename,
  type DatasetLayout,
  dirname,
  type Listing,
  numbers,
  type Recording,
  utf8,
  videoExtension,
} from "./layout.ts";

/**
 * UBFC-rPPG (Bobbia et al. 2019). DATASET_2: `subjectN/vid.avi` (or .mp4) with `ground_truth.txt`:
 * line 1 the PPG waveform, one sample per frame, line 2 an HR trace, line 3 each sample's time in s.
 * DATASET_1: `<name>/vid.avi` with `gtdump.xmp`: rows of time (ms), HR, SpO2, PPG.
 */
export const ubfcRppg: DatasetLayout = {
  name: "ubfc-rppg",

  detect(files) {
    return files.some((file) => /(^|\/)(ground_truth\.txt|gtdump\.xmp)$/.test(file));
  },

  list(files): Listing {
    const recordings: Recording[] = [];
    const ignored: Listing["ignored"] = [];
    const used = new Set<string>();
    const folders = [...new Set(files.filter((file) => videoExtension.test(file)).map(dirname))].sort(
      naturalOrder,
    );
    for (const folder of folders) {
      const inFolder = files.filter((file) => dirname(file) === folder);
      const video = inFolder.find((file) => /^vid\./i.test(basename(file)) && videoExtension.test(file));
      if (!video) continue;
      const groundTruth = inFolder.find((file) => basename(file) === "ground_truth.txt");
      const gtdump = inFolder.find((file) => basename(file) === "gtdump.xmp");
      const referenceFile = groundTruth ?? gtdump;
      const subject = basename(folder) || "subject";
      used.add(video);
      if (referenceFile) used.add(referenceFile);
      recordings.push({
        subject,
        video,
        frames: "video",
        ...(referenceFile
          ? { reference: { file: referenceFile, kind: "ppg" as const } }
          : {
              excluded: `${folder}/ has ${basename(video)} but neither ground_truth.txt nor gtdump.xmp; add its reference to score it.`,
            }),
      });
    }
    for (const file of files)
      if (!used.has(file))
        ignored.push({
          file,
          reason: "not a UBFC-rPPG video (vid.avi|mp4) or reference (ground_truth.txt, gtdump.xmp)",
        });
    return { recordings, ignored };
  },

  parseReference(source, contents) {
    const text = utf8(contents);
    if (source.file.endsWith("gtdump.xmp")) {
      const rows = text
        .trim()
        .split(/\r?\n/)
        .map((line, i) => numbers(line, /[,\s]+/, `${source.file} line ${i + 1}`));
      const bad = rows.findIndex((row) => row.length < 4);
      if (bad >= 0)
        throw new Error(
          `${source.file} line ${bad + 1}: expected time (ms), HR, SpO2 and PPG, comma-separated.`,
        );
      return {
        kind: "ppg",
        timeS: Float64Array.from(rows, (row) => row[0]! / 1000),
        values: Float64Array.from(rows, (row) => row[3]!),
      };
    }
    const lines = text.trim().split(/\r?\n/);
    if (lines.length < 3)
      throw new Error(
        `${source.file} has ${lines.length} lines; UBFC's ground_truth.txt holds the PPG, the HR and the time lines.`,
      );
    const ppg = numbers(lines[0]!, /\s+/, `${source.file} line 1`);
    const timeS = numbers(lines[2]!, /\s+/, `${source.file} line 3`);
    if (ppg.length !== timeS.length)
      throw new Error(
        `${source.file}: ${ppg.length} PPG samples but ${timeS.length} times; the file is damaged.`,
      );
    return { kind: "ppg", timeS, values: ppg, frameTimeS: timeS };
  },
};

/** subject2 before subject10. */
export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

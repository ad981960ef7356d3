import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  amigos,
  amigosSampleRateHz,
  amigosTrials,
  detectLayout,
  generic,
  parseFrameTimes,
  parseParticipantOffsets,
  parseTable,
  pure,
  ubfcRppg,
  videos,
} from "../src/index.ts";

/** A reference file's text as the bytes parseReference reads. */
const bytes = (text: string) => new TextEncoder().encode(text);

/** A listing and file contents held in memory, as a folder would give them. */
function folder(files: Record<string, string>) {
  return { files: Object.keys(files), read: (file: string) => files[file] ?? "" };
}

describe("amigos", () => {
  // The real dataset's names: padded and unpadded participants and video ids, the 4 long videos.
  const files = [
    "Data_Preprocessed/Data_Preprocessed_P1.mat",
    "Data_Preprocessed/Data_Preprocessed_P08.mat",
    "Data_Preprocessed/Data_Preprocessed_P01.mat",
    "faces/P01/P1_04_face.mov",
    "faces/P01/P01_N1_face.mov",
    "faces/P08/P08_138_face.mov",
    "faces/P09/P09_4_face.mov",
    "faces/P01/P01_4 (1)_face.mov",
    "Data_Preprocessed/P01_extra.mat",
    "README.txt",
  ];

  it("is detected by its .mat or face-video names and gives each video its trial of its participant's .mat", () => {
    expect(detectLayout(files)?.name).toBe("amigos");
    const listing = amigos.list(files, () => "");
    expect(listing.recordings.map((r) => [r.subject, r.id, r.reference?.file, r.reference?.trial])).toEqual([
      ["P01", "4", "Data_Preprocessed/Data_Preprocessed_P1.mat", "4"],
      ["P01", "N1", "Data_Preprocessed/Data_Preprocessed_P1.mat", "N1"],
      ["P08", "138", "Data_Preprocessed/Data_Preprocessed_P08.mat", "138"],
      ["P09", "4", undefined, undefined],
    ]);
    expect(listing.recordings[3]!.excluded).toMatch(/no Data_Preprocessed_P09\.mat in the dataset/);
  });

  it("excludes what is meant as data but misnamed or duplicated, saying how to fix it, and ignores the rest", () => {
    const listing = amigos.list(files, () => "");
    const reasons = Object.fromEntries((listing.excluded ?? []).map((e) => [e.file, e.reason]));
    expect(reasons["Data_Preprocessed/Data_Preprocessed_P01.mat"]).toMatch(
      /duplicates .*Data_Preprocessed_P1\.mat/,
    );
    expect(reasons["faces/P01/P01_4 (1)_face.mov"]).toMatch(/rename it, e\.g\. to P01_5_face\.mov/);
    expect(reasons["Data_Preprocessed/P01_extra.mat"]).toMatch(/not named Data_Preprocessed_Pxx\.mat/);
    expect(listing.ignored.map((i) => i.file)).toEqual(["README.txt"]);
  });
});

describe("ubfc-rppg", () => {
  const dataset = folder({
    "DATASET_2/subject1/vid.avi": "",
    "DATASET_2/subject1/ground_truth.txt":
      "  1.0e+00  2.0e+00  3.0e+00\n  9.0e+01  9.1e+01  9.2e+01\n  0.0e+00  3.3e-02  6.6e-02\n",
    "DATASET_2/subject10/vid.mp4": "",
    "DATASET_2/subject10/ground_truth.txt": "1 2\n80 80\n23.5 23.533\n",
    "DATASET_2/subject2/vid.avi": "",
    "DATASET_1/10-gt/vid.avi": "",
    "DATASET_1/10-gt/gtdump.xmp": "0,72,98,512\n33,72,98,530\n66,73,98,541\n",
    "DATASET_2/readme.txt": "",
  });

  it("is detected by its ground truth files and lists subjects in natural order, DATASET_1 and DATASET_2 alike", () => {
    expect(detectLayout(dataset.files)?.name).toBe("ubfc-rppg");
    const listing = ubfcRppg.list(dataset.files, dataset.read);
    expect(listing.recordings.map((r) => r.subject)).toEqual(["10-gt", "subject1", "subject2", "subject10"]);
    expect(listing.recordings.find((r) => r.subject === "subject2")?.excluded).toMatch(
      /neither ground_truth\.txt nor gtdump\.xmp/,
    );
    expect(listing.ignored).toEqual([
      { file: "DATASET_2/readme.txt", reason: expect.stringMatching(/not a UBFC-rPPG/) },
    ]);
  });

  it("reads DATASET_2's waveform with its per-frame times and DATASET_1's PPG column with times in ms", () => {
    const two = ubfcRppg.parseReference!(
      { file: "DATASET_2/subject1/ground_truth.txt", kind: "ppg" },
      bytes(dataset.read("DATASET_2/subject1/ground_truth.txt")),
    );
    expect(Array.from(two.values)).toEqual([1, 2, 3]);
    expect(Array.from(two.frameTimeS!)).toEqual([0, 0.033, 0.066]);
    const one = ubfcRppg.parseReference!(
      { file: "DATASET_1/10-gt/gtdump.xmp", kind: "ppg" },
      bytes(dataset.read("DATASET_1/10-gt/gtdump.xmp")),
    );
    expect(Array.from(one.values)).toEqual([512, 530, 541]);
    expect(Array.from(one.timeS)).toEqual([0, 0.033, 0.066]);
  });

  it("names the file when a ground truth is damaged", () => {
    expect(() =>
      ubfcRppg.parseReference!(
        { file: "s/ground_truth.txt", kind: "ppg" },
        bytes("1 2 3\n90 90 90\n0 0.03\n"),
      ),
    ).toThrow(/s\/ground_truth\.txt: 3 PPG samples but 2 times/);
  });
});

describe("pure", () => {
  const json = JSON.stringify({
    "/FullPackage": [
      {
        Timestamp: 1_000_000_000,
        Value: { waveform: 60, pulseRate: 70, o2saturation: 98, signalStrength: 5 },
      },
      {
        Timestamp: 1_016_666_667,
        Value: { waveform: 62, pulseRate: 70, o2saturation: 98, signalStrength: 5 },
      },
    ],
    "/Image": [{ Timestamp: 1_000_000_000 }, { Timestamp: 1_033_333_333 }],
  });
  const dataset = folder({
    "01-01/Image1000000000.png": "",
    "01-01/Image1033333333.png": "",
    "01-01/Image966666667.png": "",
    "01-01.json": json,
    "02-03/Image5.png": "",
  });

  it("is detected by its frame folders and pairs each with its JSON", () => {
    expect(detectLayout(dataset.files)?.name).toBe("pure");
    const listing = pure.list(dataset.files, dataset.read);
    expect(listing.recordings).toEqual([
      {
        subject: "01",
        video: "01-01",
        // In capture order (not the names' order), at the rate their times say.
        frames: {
          files: ["01-01/Image966666667.png", "01-01/Image1000000000.png", "01-01/Image1033333333.png"],
          fps: expect.closeTo(30, 4),
        },
        reference: { file: "01-01.json", kind: "ppg" },
      },
      {
        subject: "02",
        video: "02-03",
        frames: { files: ["02-03/Image5.png"], fps: 30 },
        excluded: expect.stringMatching(/no 02-03\.json/),
      },
    ]);
  });

  it("reads the waveform and the frame times in seconds from the first frame", () => {
    const signal = pure.parseReference!({ file: "01-01.json", kind: "ppg" }, bytes(json));
    expect(Array.from(signal.values)).toEqual([60, 62]);
    expect(signal.timeS[1]).toBeCloseTo(0.016666667, 9);
    expect(signal.frameTimeS![1]).toBeCloseTo(0.033333333, 9);
  });
});

describe("generic manifest", () => {
  const dataset = folder({
    "study/manifest.csv":
      "video,subject,reference,kind,column,fs_hz,time_column,offset_s\n" +
      "a.mp4,alice,a-ecg.csv,ecg,lead2,250,,0.5\n" +
      "b.mp4,bob,b-rr.txt,rr,,,,\n" +
      "c.mp4,carol,c-hr.csv,hr,bpm,,t,\n" +
      "d.mp4,dave,,,,,,\n" +
      "e.mp4,eve,e.csv,ppg,,,,\n" +
      "missing.mp4,frank,,,,,,\n",
    "study/a.mp4": "",
    "study/a-ecg.csv": "lead1,lead2\n0,10\n0,20\n0,30\n",
    "study/b.mp4": "",
    "study/b-rr.txt": "1000 800 1200\n",
    "study/c.mp4": "",
    "study/c-hr.csv": "t,bpm\n0.5,70\n1.5,72\n",
    "study/d.mp4": "",
    "study/e.mp4": "",
    "study/e.csv": "x\n1\n",
    "study/notes.md": "",
  });

  it("lists every manifest row, excluding with a reason what cannot be used", () => {
    expect(detectLayout(dataset.files)?.name).toBe("generic");
    const listing = generic.list(dataset.files, dataset.read);
    expect(listing.recordings.map((r) => [r.subject, r.reference?.kind ?? null, r.excluded ?? null])).toEqual(
      [
        ["alice", "ecg", null],
        ["bob", "rr", null],
        ["carol", "hr", null],
        ["dave", null, null],
        [
          "eve",
          null,
          expect.stringMatching(/manifest\.csv line 6: give the reference's fs_hz or time_column/),
        ],
        ["frank", null, expect.stringMatching(/study\/missing\.mp4 is not in the folder/)],
      ],
    );
    expect(listing.ignored.map((i) => i.file)).toEqual(["study/notes.md"]);
  });

  it("reads a named column at a given rate with an offset, RR intervals in ms timed at their ending beat, and an HR trace by its time column", () => {
    const listing = generic.list(dataset.files, dataset.read);
    const read = (subject: string) => {
      const source = listing.recordings.find((r) => r.subject === subject)!.reference!;
      return generic.parseReference!(source, bytes(dataset.read(source.file)));
    };
    const ecg = read("alice");
    expect(Array.from(ecg.values)).toEqual([10, 20, 30]);
    expect(Array.from(ecg.timeS)).toEqual([0.5, 0.504, 0.508]);
    const rr = read("bob");
    expect(Array.from(rr.values)).toEqual([1, 0.8, 1.2]);
    expect(Array.from(rr.timeS)).toEqual([1, 1.8, 3]);
    const hr = read("carol");
    expect(Array.from(hr.values)).toEqual([70, 72]);
    expect(Array.from(hr.timeS)).toEqual([0.5, 1.5]);
  });

  it("names a missing column", () => {
    expect(() =>
      parseTable({ file: "x.csv", kind: "ppg", column: "pleth", fsHz: 100 }, "time,bvp\n0,1\n"),
    ).toThrow(/x\.csv has no column pleth \(it has time, bvp\)/);
  });
});

describe("per-participant offsets (--ecg-offsets)", () => {
  it("reads participant,offset_s rows in any column order, blank lines skipped", () => {
    expect(parseParticipantOffsets("o.csv", "offset_s,participant\n0.4,P05\n\n-1.25,P12\n")).toEqual({
      P05: 0.4,
      P12: -1.25,
    });
  });

  it("names the file and line of a bad row, a repeated participant or a missing column", () => {
    expect(() => parseParticipantOffsets("o.csv", "participant,offset_s\nP05,soon\n")).toThrow(
      /^o\.csv line 2: give a participant and its offset in seconds\.$/,
    );
    expect(() => parseParticipantOffsets("o.csv", "participant,offset_s\nP05,1\nP05,2\n")).toThrow(
      /line 3: P05 is listed twice/,
    );
    expect(() => parseParticipantOffsets("o.csv", "who,offset\nP05,1\n")).toThrow(
      /o\.csv needs the columns participant and offset_s \(it has who, offset\)/,
    );
  });
});

describe("videos", () => {
  it("takes any folder of videos, each video's subject its folder or its own name", () => {
    const dataset = folder({ "clip one.mp4": "", "anna/morning.mov": "", "anna/notes.txt": "" });
    expect(detectLayout(dataset.files)?.name).toBe("videos");
    const listing = videos.list(dataset.files, dataset.read);
    expect(listing.recordings).toEqual([
      { subject: "anna", video: "anna/morning.mov", frames: "video" },
      { subject: "clip one", video: "clip one.mp4", frames: "video" },
    ]);
    expect(listing.ignored.map((i) => i.file)).toEqual(["anna/notes.txt"]);
  });
});

/** The development data read as users' folders would be. */
const dataDir = path.resolve(import.meta.dirname, "../../../../shared/data");
const present = existsSync(dataDir);
if (!present && process.env.CI)
  throw new Error(`${dataDir} is missing; CI must have ../shared beside the checkout.`);

function listFolder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((file) => statSync(path.join(root, file)).isFile())
    .map((file) => file.split(path.sep).join("/"));
}

describe.skipIf(!present)("the development data as folders", () => {
  it("ubfc-rppg-dev: detected, 7 subjects, each ground truth one PPG sample per frame", () => {
    const root = path.join(dataDir, "ubfc-rppg-dev");
    const files = listFolder(root);
    const layout = detectLayout(files)!;
    expect(layout.name).toBe("ubfc-rppg");
    const listing = layout.list(files, (file) => readFileSync(path.join(root, file), "utf8"));
    expect(listing.recordings.map((r) => r.subject)).toEqual([
      "subject3",
      "subject4",
      "subject5",
      "subject8",
      "subject9",
      "subject10",
      "subject11",
    ]);
    const first = listing.recordings[0]!;
    const signal = layout.parseReference!(
      first.reference!,
      bytes(readFileSync(path.join(root, first.reference!.file), "utf8")),
    );
    expect(signal.values.length).toBe(signal.frameTimeS!.length);
    expect(signal.values.length).toBeGreaterThan(1500);
  });

  it("physrecorder-v01 through a generic manifest: the oximeter and the frames share unix time", () => {
    const root = path.join(dataDir, "physrecorder-v01");
    const manifest =
      "video,subject,reference,kind,column,time_column,frame_times,frame_time_column\n" +
      "video_ZIP_H264.avi,v01,BVP.csv,ppg,bvp,timestamp,frames_timestamp.csv,timestamp\n";
    const files = [...listFolder(root), "manifest.csv"];
    const read = (file: string) =>
      file === "manifest.csv" ? manifest : readFileSync(path.join(root, file), "utf8");
    const layout = detectLayout(files)!;
    expect(layout.name).toBe("generic");
    const [recording] = layout.list(files, read).recordings;
    expect(recording).toMatchObject({
      subject: "v01",
      frameTimes: { file: "frames_timestamp.csv", column: "timestamp" },
    });
    const bvp = layout.parseReference!(recording!.reference!, bytes(read(recording!.reference!.file)));
    const frames = parseFrameTimes(recording!.frameTimes!, read(recording!.frameTimes!.file));
    expect(frames.length).toBe(602);
    // Both clocks are unix time: the oximeter's samples span the video's frames.
    expect(Math.abs(bvp.timeS[0]! - frames[0]!)).toBeLessThan(1);
    expect(bvp.timeS[bvp.timeS.length - 1]!).toBeGreaterThan(frames[frames.length - 1]! - 1);
  });
});

describe("the AMIGOS adapter reads a reference like any layout", () => {
  const matFile = path.resolve(
    import.meta.dirname,
    "../../../../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat",
  );

  it("parses one trial's ECG column of a participant's .mat, at 128 Hz on the trial's clock", () => {
    const bytes = readFileSync(matFile);
    const trials = amigosTrials(bytes, "Data_Preprocessed_P01.mat");
    const first = trials.find((t) => !("excluded" in t));
    expect(first, "the fixture has a trial with a matrix").toBeDefined();
    if (!first || "excluded" in first) return;
    const source = {
      file: "Data_Preprocessed_P01.mat",
      kind: "ecg" as const,
      trial: first.videoId,
      column: "14",
    };
    const signal = amigos.parseReference!(source, bytes);
    expect(signal.kind).toBe("ecg");
    expect(Array.from(signal.values)).toEqual(Array.from(first.column(14)));
    expect(signal.timeS[1]! - signal.timeS[0]!).toBeCloseTo(1 / amigosSampleRateHz, 12);
    expect(Array.from(amigos.parseReference!({ ...source, column: undefined }, bytes).values)).toEqual(
      Array.from(first.column(15)),
    );
  });

  it("names the file and the trial it lacks, and the column it cannot give", () => {
    const bytes = readFileSync(matFile);
    expect(() => amigos.parseReference!({ file: "P01.mat", kind: "ecg", trial: "999" }, bytes)).toThrow(
      "P01.mat has no trial 999 in its VideoIDs.",
    );
    const [trial] = amigosTrials(bytes, "P01.mat");
    expect(() =>
      amigos.parseReference!({ file: "P01.mat", kind: "ecg", trial: trial!.videoId, column: "40" }, bytes),
    ).toThrow(/P01\.mat trial .* has 17 columns, too few for ECG column 40/);
    expect(() => amigosTrials(bytes.subarray(0, 200), "P01.mat")).toThrow(/P01\.mat/);
  });
});

import {
  basename,
  type DatasetLayout,
  dirname,
  type Listing,
  type Recording,
  type ReferenceKind,
  type ReferenceSignal,
  type ReferenceSource,
  utf8,
} from "./layout.ts";

/** The file that makes a folder a generic-layout dataset. */
export const genericManifestName = "manifest.csv";
const kinds: ReferenceKind[] = ["ecg", "ppg", "hr", "rr"];

function cells(line: string): string[] {
  return line.split(/,|\t/).map((cell) => cell.trim());
}

/**
 * Any folder with a `manifest.csv`: one row per video, columns `video` (path relative to the manifest),
 * and optionally `subject`, `reference` (a CSV or text file), `kind` (ecg, ppg, hr or rr), `column`
 * (the reference's column by name), `fs_hz` or `time_column` (its sampling), `offset_s` (added to
 * its times to put them on the video's clock), and `frame_times` with `frame_time_column`: a table of
 * every frame's time on the reference's clock, for recordings whose two devices share a clock (unix
 * time) rather than a start.
 */
export const generic: DatasetLayout = {
  name: "generic",

  detect(files) {
    return files.some((file) => basename(file) === genericManifestName);
  },

  list(files, read): Listing {
    const manifest = files
      .filter((file) => basename(file) === genericManifestName)
      .sort((a, b) => a.length - b.length)[0];
    if (!manifest)
      throw new Error(
        `no ${genericManifestName} in the folder; the generic layout needs one (see README, "Datasets").`,
      );
    const base = dirname(manifest);
    const resolve = (file: string) => (base ? `${base}/${file}` : file);
    const [headerLine, ...rows] = read(manifest).trim().split(/\r?\n/);
    const header = cells(headerLine ?? "").map((name) => name.toLowerCase());
    if (!header.includes("video"))
      throw new Error(`${manifest}: the header must name a video column (found ${header.join(", ")}).`);
    const present = new Set(files);
    const named = new Set([manifest]);
    const recordings: Recording[] = rows
      .filter((row) => row.trim() !== "")
      .map((row, index) => {
        const value = (name: string) => {
          const at = header.indexOf(name);
          const cell = at < 0 ? "" : (cells(row)[at] ?? "");
          return cell === "" ? undefined : cell;
        };
        const line = `${manifest} line ${index + 2}`;
        const video = resolve(value("video") ?? "");
        for (const column of ["video", "reference", "frame_times"]) {
          const file = value(column);
          if (file) named.add(resolve(file));
        }
        const subject = value("subject") ?? basename(video).replace(/\.[^.]+$/, "");
        const recording: Recording = { subject, video, frames: "video" };
        if (!present.has(video)) return { ...recording, excluded: `${line}: ${video} is not in the folder.` };
        const reference = value("reference");
        if (!reference) return recording;
        const kind = (value("kind") ?? "ppg") as ReferenceKind;
        if (!kinds.includes(kind))
          return { ...recording, excluded: `${line}: kind ${kind} is not one of ${kinds.join(", ")}.` };
        const source: ReferenceSource = { file: resolve(reference), kind };
        const column = value("column");
        const fsHz = value("fs_hz");
        const timeColumn = value("time_column");
        const offsetS = value("offset_s");
        if (column) source.column = column;
        if (fsHz) source.fsHz = Number(fsHz);
        if (timeColumn) source.timeColumn = timeColumn;
        if (offsetS) source.offsetS = Number(offsetS);
        if (!present.has(source.file))
          return { ...recording, excluded: `${line}: reference ${source.file} is not in the folder.` };
        const frameTimes = value("frame_times");
        if (frameTimes) {
          const file = resolve(frameTimes);
          if (!present.has(file))
            return { ...recording, excluded: `${line}: frame times ${file} are not in the folder.` };
          const frameTimeColumn = value("frame_time_column");
          recording.frameTimes = { file, ...(frameTimeColumn ? { column: frameTimeColumn } : {}) };
        }
        if (kind !== "rr" && !source.fsHz && !source.timeColumn)
          return { ...recording, excluded: `${line}: give the reference's fs_hz or time_column.` };
        return { ...recording, reference: source };
      });
    return {
      recordings,
      ignored: files
        .filter((file) => !named.has(file))
        .map((file) => ({ file, reason: `not named in ${manifest}` })),
    };
  },

  parseReference(source, contents) {
    const text = utf8(contents);
    return parseTable(source, text);
  },
};

/**
 * A reference table: CSV (or tab- or space-separated) with a header row, or bare numbers (one series,
 * as Polar's and Welltory's RR.txt). RR intervals are read in ms when their median exceeds 10 (no
 * beat lasts 10 s), in s otherwise, and timed at their ending beat when no time column is given.
 */
export function parseTable(source: ReferenceSource, text: string): ReferenceSignal {
  const lines = text.trim().split(/\r?\n/);
  const split = (line: string) =>
    line
      .trim()
      .split(/[,\t]|\s+/)
      .filter((cell) => cell !== "");
  const hasHeader = split(lines[0] ?? "").some((cell) => !Number.isFinite(Number(cell)));
  const header = hasHeader ? split(lines[0]!).map((name) => name.toLowerCase()) : [];
  const rows = (hasHeader ? lines.slice(1) : lines).map(split);
  const bare = !hasHeader && rows.length === 1;
  const series = bare ? [rows[0]!] : rows;
  const columnOf = (name: string | undefined, fallback: number) => {
    if (!name) return fallback;
    const at = header.indexOf(name.toLowerCase());
    if (at < 0)
      throw new Error(`${source.file} has no column ${name} (it has ${header.join(", ") || "no header"}).`);
    return at;
  };
  const timeAt = source.timeColumn ? columnOf(source.timeColumn, 0) : -1;
  const valueAt = columnOf(source.column, timeAt === 0 ? 1 : 0);
  let values = bare
    ? Float64Array.from(series[0]!, Number)
    : Float64Array.from(series, (row) => Number(row[valueAt]));
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(`${source.file}: value ${bad + 1} is not a number; fix the file or name the column.`);
  let timeS: Float64Array;
  if (source.kind === "rr") {
    const sorted = [...values].sort((a, b) => a - b);
    if (sorted[Math.floor(sorted.length / 2)]! > 10) values = values.map((v) => v / 1000);
    let t = 0;
    timeS =
      timeAt >= 0 ? Float64Array.from(series, (row) => Number(row[timeAt])) : values.map((rr) => (t += rr));
  } else if (timeAt >= 0) timeS = Float64Array.from(series, (row) => Number(row[timeAt]));
  else if (source.fsHz && source.fsHz > 0) timeS = Float64Array.from(values, (_, i) => i / source.fsHz!);
  else throw new Error(`${source.file}: give the reference's sampling rate (fs_hz) or its time column.`);
  const badTime = timeS.findIndex((t) => !Number.isFinite(t));
  if (badTime >= 0)
    throw new Error(
      `${source.file}: time ${badTime + 1} is not a number; fix the file or name the time column.`,
    );
  const offsetS = source.offsetS ?? 0;
  return { kind: source.kind, timeS: timeS.map((t) => t + offsetS), values };
}

/** Every frame's time from a frame-times table (a time column by name, or the last column). */
export function parseFrameTimes(frameTimes: { file: string; column?: string }, text: string): Float64Array {
  const lines = text.trim().split(/\r?\n/);
  const header = cells(lines[0] ?? "").map((name) => name.toLowerCase());
  const hasHeader = header.some((cell) => !Number.isFinite(Number(cell)));
  const at = frameTimes.column ? header.indexOf(frameTimes.column.toLowerCase()) : header.length - 1;
  if (at < 0)
    throw new Error(`${frameTimes.file} has no column ${frameTimes.column} (it has ${header.join(", ")}).`);
  const times = Float64Array.from(
    (hasHeader ? lines.slice(1) : lines).map((line) => Number(cells(line)[at])),
  );
  const bad = times.findIndex((t) => !Number.isFinite(t));
  if (bad >= 0)
    throw new Error(`${frameTimes.file} line ${bad + (hasHeader ? 2 : 1)}: the frame time is not a number.`);
  return times;
}

/**
 * A table of per-participant reference offsets (`--ecg-offsets`): columns `participant` and `offset_s`,
 * one row per participant whose reference and video started apart.
 */
export function parseParticipantOffsets(file: string, text: string): Record<string, number> {
  const lines = text.trim().split(/\r?\n/);
  const header = cells(lines[0] ?? "").map((name) => name.toLowerCase());
  const participantAt = header.indexOf("participant");
  const offsetAt = header.indexOf("offset_s");
  if (participantAt < 0 || offsetAt < 0)
    throw new Error(`${file} needs the columns participant and offset_s (it has ${header.join(", ")}).`);
  const offsetsS: Record<string, number> = {};
  for (const [index, line] of lines.slice(1).entries()) {
    if (line.trim() === "") continue;
    const row = cells(line);
    const participant = row[participantAt] ?? "";
    const offsetS = Number(row[offsetAt]);
    if (participant === "" || row[offsetAt] === "" || !Number.isFinite(offsetS))
      throw new Error(`${file} line ${index + 2}: give a participant and its offset in seconds.`);
    if (participant in offsetsS)
      throw new Error(`${file} line ${index + 2}: ${participant} is listed twice; keep one row for it.`);
    offsetsS[participant] = offsetS;
  }
  return offsetsS;
}

/**
 * Dataset layouts as adapters: each turns a folder's file listing into recordings (a video, its
 * subject and where its reference signal is) and parses its reference files. Pure functions over
 * listings and file contents: the caller does the I/O, so every layout is tested with a few lines of
 * its exact file format.
 */

import type { LayoutName } from "@hrpipe/contracts";

/** What a reference file measures: a waveform (ecg, ppg), a heart-rate trace (hr) or beat intervals (rr). */
export type ReferenceKind = "ecg" | "ppg" | "hr" | "rr";

/** Where a recording's reference is and how to read it. */
export interface ReferenceSource {
  /** Relative path of the file in the dataset folder. */
  file: string;
  kind: ReferenceKind;
  /** For layouts whose files need settings (the generic manifest): the column, the rate or time column, an offset. */
  column?: string;
  fsHz?: number;
  timeColumn?: string;
  /** Seconds to add to the reference's times to put them on the video's clock. */
  offsetS?: number;
  /** For a file holding many recordings' references (AMIGOS's .mat): this recording's trial. */
  trial?: string;
}

export interface Recording {
  subject: string;
  /** The recording's id within its subject, where the layout names one (AMIGOS's video id). */
  id?: string;
  /** Relative path of the video file, or of the folder of numbered frames (PURE). */
  video: string;
  /** Frames as a video file, or as a folder's image files. */
  frames: "video" | ImageFrames;
  reference?: ReferenceSource;
  /** A table of every frame's time on the reference's clock (PhysRecorder's frames_timestamp.csv), where the dataset has one. */
  frameTimes?: { file: string; column?: string };
  /** Why the recording cannot be used as it is (its reference is missing, say), or absent. */
  excluded?: string;
}

/** A recording kept as one image file per frame (PURE's PNGs): the files in order, and their rate. */
export interface ImageFrames {
  files: string[];
  fps: number;
}

/** A reference on its own clock: samples with their times in seconds. */
export interface ReferenceSignal {
  kind: ReferenceKind;
  timeS: Float64Array;
  /** The waveform, the heart rate in bpm, or the beat intervals in seconds (each at its ending beat's time). */
  values: Float64Array;
  /** Frame times (s) on the same clock, where the reference file carries them (UBFC, PURE). */
  frameTimeS?: Float64Array;
}

export interface Listing {
  recordings: Recording[];
  /** Files of the folder that belong to no recording, with why. */
  ignored: { file: string; reason: string }[];
  /** Files meant as data but unusable as they are (misnamed, duplicated), with how to fix them. */
  excluded?: { file: string; subject?: string; reason: string }[];
}

export interface DatasetLayout {
  name: LayoutName;
  /** Whether a listing (relative paths, "/"-separated) looks like this layout. */
  detect(files: string[]): boolean;
  /** The recordings of a listing; `read` gives a small file's text (the generic layout's manifest). */
  list(files: string[], read: (file: string) => string): Listing;
  /**
   * Parses a recording's reference file from its bytes (text for most layouts, a MAT-file for
   * AMIGOS); absent for a layout whose recordings carry no reference (a folder of videos).
   */
  parseReference?(source: ReferenceSource, contents: Uint8Array): ReferenceSignal;
}

export const videoExtension = /\.(avi|mp4|mov|mkv|webm|m4v)$/i;

export function dirname(file: string): string {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "" : file.slice(0, slash);
}

export function basename(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

/** The numbers of one line of a reference file; a cell that is not a finite number fails naming `where`. */
export function numbers(text: string, separator: RegExp, where: string): Float64Array {
  const cells = text
    .trim()
    .split(separator)
    .filter((cell) => cell !== "");
  const values = Float64Array.from(cells, Number);
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0)
    throw new Error(
      `${where}: value ${bad + 1} (${JSON.stringify(cells[bad]!.slice(0, 20))}) is not a number.`,
    );
  return values;
}

/** A text reference file's contents as text. */
export function utf8(contents: Uint8Array): string {
  return new TextDecoder().decode(contents);
}

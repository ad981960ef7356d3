import { medianRateHz, resampleUniform } from "@hrpipe/signal";

/** A mean-colour trace read from a user's CSV, on a uniform time grid. */
export interface RgbTraceTable {
  fsHz: number;
  /** Mean R, G, B per sample, [samples, 3]. */
  rgb: Float64Array;
}

/** Camera and PPG-app traces run at 1-1000 samples a second; outside that the time unit is wrong. */
const plausibleRateHz = { low: 1, high: 1000 };

/**
 * Mean-RGB samples from a CSV: a header naming R, G, B and either `time` (in `timeUnit`) or `frame`
 * (at `fps`, which is then the rate exactly). Irregular sample times are resampled to their median
 * rate. Every failure is an Error naming the file and what to change.
 */
export function parseRgbTrace(
  file: string,
  text: string,
  options: { timeUnit: "ms" | "s"; fps?: number },
): RgbTraceTable {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const header = (lines[0] ?? "").split(",").map((name) => name.trim().toLowerCase());
  const column = (name: string) => header.indexOf(name);
  const [r, g, b] = [column("r"), column("g"), column("b")];
  const time = column("time") >= 0 ? column("time") : column("frame");
  if (r < 0 || g < 0 || b < 0 || time < 0)
    throw new Error(
      `${file}: the header must name the columns R, G, B and time or frame (found ${header.slice(0, 8).join(", ")}); add them and rerun.`,
    );
  const byFrame = header[time] === "frame";
  const { fps } = options;
  if (byFrame && !(fps !== undefined && fps > 0))
    throw new Error(`${file} counts samples by frame; pass their rate with --fps.`);
  const toSeconds = byFrame ? 1 / fps! : { ms: 1e-3, s: 1 }[options.timeUnit];
  const timeS = new Float64Array(lines.length - 1);
  const rgb = new Float64Array(3 * (lines.length - 1));
  for (const [row, line] of lines.slice(1).entries()) {
    const cells = line.split(",").map(Number);
    const values = [cells[time]!, cells[r]!, cells[g]!, cells[b]!];
    if (!values.every(Number.isFinite))
      throw new Error(`${file} line ${row + 2}: time, R, G and B must be numbers; fix or remove the line.`);
    timeS[row] = values[0]! * toSeconds;
    rgb.set(values.slice(1), 3 * row);
  }
  if (timeS.length < 2)
    throw new Error(`${file} holds fewer than 2 samples; pass a trace of at least one window.`);
  for (let i = 1; i < timeS.length; i++)
    if (!(timeS[i]! >= timeS[i - 1]!))
      throw new Error(`${file} line ${i + 2}: the ${header[time]} goes back in time; sort the rows by it.`);
  const fsHz = byFrame ? fps! : medianRateHz(timeS);
  if (!(fsHz >= plausibleRateHz.low && fsHz <= plausibleRateHz.high))
    throw new Error(
      `${file}: its time column gives ${Number(fsHz.toPrecision(3))} samples a second, outside ${plausibleRateHz.low}-${plausibleRateHz.high}; ${options.timeUnit === "ms" ? "if its times are in seconds, pass --time-unit s" : "if its times are in milliseconds, pass --time-unit ms"}.`,
    );
  // Gaps are bridged by interpolation, but a time line mostly of gaps is a wrong column, not a trace.
  const spanS = timeS[timeS.length - 1]! - timeS[0]!;
  if (spanS * fsHz > 2 * timeS.length + 1000)
    throw new Error(
      `${file}: its ${timeS.length} samples span ${Number(spanS.toPrecision(3))} s, mostly gaps at ${Number(fsHz.toPrecision(3))} samples a second; check the ${header[time]} column.`,
    );
  const uniform = resampleUniform(timeS, rgb, 3, fsHz);
  return { fsHz, rgb: uniform.values };
}

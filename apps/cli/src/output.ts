/** Renders rows as an aligned plain-text table (no colours, so it pastes into issues and logs). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** A failure the user can fix: printed as one sentence, exit code 1, no stack trace. */
export class UserError extends Error {
  override name = "UserError";
}

/** A one-line progress counter on stderr: redrawn in place on a terminal, a line per update otherwise. */
export class ProgressLine {
  private lastWrite = 0;
  private lastText = "";

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, detail = ""): void {
    const now = Date.now();
    const finished = done >= total;
    if (!finished && now - this.lastWrite < (this.stream.isTTY ? 100 : 2000)) return;
    this.lastWrite = now;
    const width = 24;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
    const text = `${this.label} ${bar} ${done}/${total}${detail ? ` ${detail}` : ""}`;
    // A log file gets a line only when something changed.
    if (!this.stream.isTTY && text === this.lastText) return;
    this.lastText = text;
    if (this.stream.isTTY) this.stream.write(`\r${text}\u001b[K${finished ? "\n" : ""}`);
    else this.stream.write(`${text}\n`);
  }
}

/** Parses a flag that must be a whole number of at least 1; a usage error names the flag otherwise. */
export function wholeNumber(flag: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new UserError(`${flag} must be a whole number of at least 1, not ${JSON.stringify(value)}.`);
  return parsed;
}

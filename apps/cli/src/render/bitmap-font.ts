/** A 3x5 pixel font for labels on contact sheets: digits, '.', 's', ':' and '-'. */
const glyphs: Record<string, string[]> = {
  "0": ["111", "101", "101", "101", "111"],
  "1": ["010", "110", "010", "010", "111"],
  "2": ["111", "001", "111", "100", "111"],
  "3": ["111", "001", "111", "001", "111"],
  "4": ["101", "101", "111", "001", "001"],
  "5": ["111", "100", "111", "001", "111"],
  "6": ["111", "100", "111", "101", "111"],
  "7": ["111", "001", "010", "010", "010"],
  "8": ["111", "101", "111", "101", "111"],
  "9": ["111", "101", "111", "001", "111"],
  ".": ["000", "000", "000", "000", "010"],
  s: ["000", "011", "110", "011", "110"],
  ":": ["000", "010", "000", "010", "000"],
  "-": ["000", "000", "111", "000", "000"],
};

/** Draws `text` into an RGB24 image at (x, y), each font pixel a `scale` x `scale` square. */
export function drawText(
  rgb: Uint8Array,
  width: number,
  height: number,
  text: string,
  x: number,
  y: number,
  scale: number,
  color: [number, number, number],
): void {
  let cursor = x;
  for (const char of text) {
    const glyph = glyphs[char];
    if (glyph) {
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < 3; gx++) {
          if (row[gx] !== "1") continue;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const px = cursor + gx * scale + dx;
              const py = y + gy * scale + dy;
              if (px >= 0 && px < width && py >= 0 && py < height) rgb.set(color, (py * width + px) * 3);
            }
          }
        }
      });
    }
    cursor += 4 * scale;
  }
}

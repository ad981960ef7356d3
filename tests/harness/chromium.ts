/** Debian's Chromium, headless, as the browser tests run it (.ci/run installs it). */
export const chromiumPath = "/usr/bin/chromium";
export const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--no-first-run",
];

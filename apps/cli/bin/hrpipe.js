#!/usr/bin/env node
// `hrpipe --version` answers before anything is loaded: it is what scripts and health checks call.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}
// hrpipe runs from its TypeScript sources: tsx compiles them on load, so there is no build step to forget.
const { register } = await import("tsx/esm/api");
register();
await import("../src/bin.ts");

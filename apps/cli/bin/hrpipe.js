#!/usr/bin/env node
// `hrpipe --version` answers before anything is loaded: it is what scripts and health checks call.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}
// The images run the JavaScript infra/compile.sh emits; a checkout runs its TypeScript sources
// through tsx, which compiles them on load, so that there is no build step to forget.
const { existsSync } = await import("node:fs");
const compiled = new URL("../src/bin.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/bin.ts");
}

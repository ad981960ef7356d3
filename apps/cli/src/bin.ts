// The entry point: runs the program and exits. The program itself (program.ts) has no side effects
// on import, so tests build and inspect it.
import { launcher } from "@hrpipe/media";
import { CommanderError } from "commander";
import { UserError } from "./output.ts";
import { buildProgram } from "./program.ts";

try {
  await buildProgram().exitOverride().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else if (error instanceof UserError) {
    // A flag's value refused while commander parsed it (--epochs 2.5): one sentence, as any usage error.
    console.error(`hrpipe: ${error.message}`);
    process.exitCode = 2;
  } else throw error;
}
// A finished command leaves nothing worth waiting for (retrying sockets, tfjs threads) but the helper
// that started its ffmpeg, which is waited for so that its CPU time counts as the command's.
await launcher.close();
process.exit(process.exitCode ?? 0);

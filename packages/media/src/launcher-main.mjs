// The process launcher's helper (launcher.ts): starts the processes its parent asks for and reports
// what they write and how they end. Plain JavaScript with no imports beyond Node's own, so that it
// starts without tsx and stays small: its forks are what the launcher is for.
import { spawn } from "node:child_process";

const children = new Map();

process.on("message", (message) => {
  if (message.type === "kill") {
    children.get(message.id)?.kill("SIGKILL");
    return;
  }
  const { id, command, args, cwd, env, stdout } = message;
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", stdout ? "pipe" : "ignore", "pipe"] });
  children.set(id, child);
  child.stdout?.on("data", (chunk) => process.send({ type: "stdout", id, chunk }));
  child.stderr.on("data", (chunk) => process.send({ type: "stderr", id, text: chunk.toString() }));
  child.once("error", (error) =>
    process.send({ type: "error", id, message: error.message, code: error.code }),
  );
  child.once("close", (code, signal) => {
    children.delete(id);
    process.send({ type: "exit", id, code, signal });
  });
});

// The parent gone (ended, crashed or killed), nothing it started is wanted any more.
process.once("disconnect", () => {
  for (const child of children.values()) child.kill("SIGKILL");
  process.exit(0);
});

// A terminal's Ctrl-C reaches the whole process group: the parent decides when to stop, and this
// process ends with it (above), not before it.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});

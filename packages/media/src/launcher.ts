import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";

/** How a launched process ended: its exit code (null when killed), what it wrote to stdout (when asked for) and to stderr. */
export interface LaunchResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface LaunchOptions {
  /** Collect what the process writes to stdout (otherwise it goes nowhere). */
  stdout?: boolean;
}

/** A process started through the launcher. */
export class LaunchedProcess {
  /** Settles when the process has ended; rejects with the system's error when it could not be started. */
  readonly result: Promise<LaunchResult>;
  private ended = false;
  private stderr = "";
  private readonly stdoutChunks: Buffer[] = [];
  private settle!: { resolve(result: LaunchResult): void; reject(error: Error): void };

  constructor(private readonly killer: () => void) {
    this.result = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Callers that only kill it must not see an unhandled rejection.
    this.result.catch(() => undefined);
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Ends the process at once (SIGKILL); nothing happens if it has ended. */
  kill(): void {
    if (!this.ended) this.killer();
  }

  /** @internal The launcher's reports. */
  report(message: HelperMessage): void {
    if (message.type === "stdout") this.stdoutChunks.push(Buffer.from(message.chunk));
    else if (message.type === "stderr") this.stderr += message.text;
    else if (message.type === "error")
      this.fail(Object.assign(new Error(message.message), { code: message.code }));
    else if (!this.ended) {
      this.ended = true;
      this.settle.resolve({
        code: message.code,
        stdout: Buffer.concat(this.stdoutChunks),
        stderr: this.stderr,
      });
    }
  }

  /** @internal */
  fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.settle.reject(error);
  }
}

type HelperMessage =
  | { type: "stdout"; id: number; chunk: Uint8Array }
  | { type: "stderr"; id: number; text: string }
  | { type: "error"; id: number; message: string; code?: string }
  | { type: "exit"; id: number; code: number | null; signal: string | null };

/**
 * Starts the processes this one needs (ffmpeg, ffprobe, mkfifo) from a small helper process
 * (launcher-main.mjs) instead of starting them itself. Starting a child forks the process that starts
 * it, and a worker holding the face nets is large: its face job's two starts cost it 0.11 CPU-s of
 * 0.65 on 2 AMD EPYC cores in a paravirtualised VM (the fork itself, then a page fault on every page it
 * writes afterwards, 3.5 ms per MB there). The helper is small, so its forks cost little; it is started
 * on the first launch, does not keep this process alive while idle, and ends when this process does.
 * Processes that stream through their stdin or stdout (an encoder, a live capture) are started directly:
 * messages between processes would copy every frame once more.
 */
export class ProcessLauncher {
  private helper: ChildProcess | undefined;
  private readonly launched = new Map<number, LaunchedProcess>();
  private nextId = 0;

  /** The helper's process id while it runs. */
  get helperPid(): number | undefined {
    return this.helper?.pid;
  }

  launch(command: string, args: string[], options: LaunchOptions = {}): LaunchedProcess {
    const helper = this.startedHelper();
    const id = this.nextId++;
    const launched = new LaunchedProcess(() => helper.send({ type: "kill", id }));
    this.launched.set(id, launched);
    void launched.result.then(
      () => this.forget(id),
      () => this.forget(id),
    );
    helper.channel?.ref();
    helper.send({
      type: "start",
      id,
      command,
      args,
      cwd: process.cwd(),
      env: process.env,
      stdout: options.stdout ?? false,
    });
    return launched;
  }

  /**
   * Ends the helper, and with it anything still running from it, and waits for it to exit: a process
   * that ends by `process.exit` otherwise leaves it unreaped, and the CPU time it and its processes
   * used uncounted in this process's own (GNU time's, say).
   */
  async close(): Promise<void> {
    const helper = this.helper;
    if (!helper) return;
    this.helper = undefined;
    const closed = new Error("hrpipe's process launcher was closed while its processes ran.");
    for (const launched of this.launched.values()) launched.fail(closed);
    if (helper.exitCode !== null || helper.signalCode !== null) return;
    const exited = once(helper, "exit");
    // Unreferenced while idle, the helper would let this process end before it is waited for.
    helper.ref();
    helper.disconnect();
    await exited;
  }

  private forget(id: number): void {
    this.launched.delete(id);
    if (this.launched.size === 0) this.helper?.channel?.unref();
  }

  private startedHelper(): ChildProcess {
    if (this.helper) return this.helper;
    const helper = fork(new URL("./launcher-main.mjs", import.meta.url), [], {
      // Node's flags of this process (tsx's loader, a profiler) are not the helper's.
      execArgv: [],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    helper.unref();
    helper.on("message", (message: HelperMessage) => this.launched.get(message.id)?.report(message));
    const lost = (why: string) => {
      if (this.helper !== helper) return;
      this.helper = undefined;
      const error = new Error(
        `hrpipe's process launcher (pid ${helper.pid}) ${why} while its processes ran; the next start uses a new one.`,
      );
      for (const launched of this.launched.values()) launched.fail(error);
    };
    helper.on("error", (error) => lost(`failed (${error.message})`));
    helper.once("exit", (code, signal) => lost(`exited (${signal ?? `code ${code}`})`));
    this.helper = helper;
    return helper;
  }
}

/** This process's launcher. */
export const launcher = new ProcessLauncher();

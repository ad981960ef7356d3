import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessLauncher } from "../src/launcher.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

describe("the process launcher", () => {
  const launcher = new ProcessLauncher();
  const files: string[] = [];
  afterAll(async () => {
    for (const file of files) await rm(file, { force: true });
  });

  it("reports a process's exit code, its stdout when asked for and its stderr", async () => {
    const script = "printf 'out'; printf 'err' >&2; exit 3";
    expect(await launcher.launch("sh", ["-c", script], { stdout: true }).result).toEqual({
      code: 3,
      stdout: Buffer.from("out"),
      stderr: "err",
    });
    expect((await launcher.launch("sh", ["-c", script]).result).stdout.length).toBe(0);
  });

  it("runs in this process's folder with its environment", async () => {
    const result = await launcher.launch("sh", ["-c", 'printf "%s %s" "$PWD" "$HRPIPE_LAUNCHER_TEST"'], {
      stdout: true,
    }).result;
    process.env.HRPIPE_LAUNCHER_TEST = "seen";
    const again = await launcher.launch("sh", ["-c", 'printf "%s" "$HRPIPE_LAUNCHER_TEST"'], { stdout: true })
      .result;
    delete process.env.HRPIPE_LAUNCHER_TEST;
    expect(result.stdout.toString()).toBe(`${process.cwd()} `);
    expect(again.stdout.toString()).toBe("seen");
  });

  it("rejects with the system's error when the command cannot be started", async () => {
    await expect(launcher.launch("/nonexistent/ffmpeg", ["-version"]).result).rejects.toThrow(
      /nonexistent\/ffmpeg ENOENT/,
    );
  });

  it("kills a process on request", async () => {
    const sleeper = launcher.launch("sleep", ["30"]);
    sleeper.kill();
    expect((await sleeper.result).code).toBeNull();
    expect(sleeper.running).toBe(false);
  });

  it("fails what ran when its helper dies, and starts a new helper for the next process", async () => {
    const sleeper = launcher.launch("sleep", ["30"]);
    await until(() => launcher.helperPid !== undefined);
    process.kill(launcher.helperPid!, "SIGKILL");
    await expect(sleeper.result).rejects.toThrow(/process launcher \(pid \d+\) exited \(SIGKILL\)/);
    expect((await launcher.launch("true", []).result).code).toBe(0);
  });

  it("closes: its helper ends and has been waited for, what still ran fails, and a later launch starts anew", async () => {
    const sleeper = launcher.launch("sleep", ["30"]);
    await until(() => launcher.helperPid !== undefined);
    const helperPid = launcher.helperPid!;
    await launcher.close();
    expect(alive(helperPid)).toBe(false);
    await expect(sleeper.result).rejects.toThrow(/launcher was closed/);
    expect((await launcher.launch("true", []).result).code).toBe(0);
    expect(launcher.helperPid).not.toBe(helperPid);
    await launcher.close();
  });

  it("does not keep an idle process alive, and ends what a process started when it exits", async () => {
    const pidFile = path.join(tmpdir(), `hrpipe-launcher-test-${process.pid}.pid`);
    files.push(pidFile);
    const launcherModule = JSON.stringify(path.resolve(import.meta.dirname, "../src/launcher.ts"));
    const runScript = async (body: string) => {
      const script = `import { ProcessLauncher } from ${launcherModule};\nconst launcher = new ProcessLauncher();\n${body}`;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      return { code, helperPid: Number(stdout.trim()) };
    };
    // Its processes done, a script's end is the process's end.
    const idle = await runScript(
      `await launcher.launch("true", []).result;\nconsole.log(launcher.helperPid);`,
    );
    expect(idle.code).toBe(0);
    expect(await until(() => !alive(idle.helperPid))).toBe(true);
    // Closed at the end of a script, as the CLI does, the helper has ended (and been waited for) on return.
    const closing = await runScript(
      `await launcher.launch("true", []).result;\nconst pid = launcher.helperPid;\nawait launcher.close();\nconsole.log(pid);`,
    );
    expect(closing.code).toBe(0);
    expect(alive(closing.helperPid)).toBe(false);
    // A process that exits while a launched one runs takes it along.
    const exiting = await runScript(`
      launcher.launch("sh", ["-c", "echo $$ > ${pidFile}; exec sleep 30"]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      console.log(launcher.helperPid);
      process.exit(0);`);
    expect(exiting.code).toBe(0);
    const sleeperPid = Number((await readFile(pidFile, "utf8")).trim());
    expect(await until(() => !alive(exiting.helperPid) && !alive(sleeperPid))).toBe(true);
  }, 20_000);
});

import { runFlags } from "@hrpipe/contracts";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/program.ts";

/** Every command of the tree, with its full name (`model embed`). */
function commands(command: Command, prefix = ""): [string, Command][] {
  return command.commands.flatMap((sub) => {
    const name = `${prefix}${sub.name()}`;
    return [[name, sub] as [string, Command], ...commands(sub, `${name} `)];
  });
}

describe("the hrpipe program, built without running it", () => {
  const program = buildProgram();

  it("gives every command a description and a help text naming its usage", () => {
    const all = commands(program);
    expect(all.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        "doctor",
        "demo",
        "run",
        "ingest",
        "worker",
        "dashboard",
        "rppg",
        "model embed",
      ]),
    );
    for (const [name, command] of all) {
      expect(command.description(), name).not.toBe("");
      expect(command.helpInformation(), name).toMatch(new RegExp(`^Usage: hrpipe ${name}`));
    }
  });

  it("lists each option of a command once, each with a help text", () => {
    for (const [name, command] of commands(program)) {
      const flags = command.options.map((option) => option.long ?? option.short);
      expect(new Set(flags).size, `${name}: ${flags.join(" ")}`).toBe(flags.length);
      for (const option of command.options)
        expect(option.description, `${name} ${option.flags}`).not.toBe("");
    }
  });

  it("gives run and ingest exactly the run flags declared in packages/contracts, each once", () => {
    const byName = new Map(commands(program));
    for (const name of ["run", "ingest"]) {
      const longs = byName.get(name)!.options.map((option) => option.long);
      for (const { flag } of runFlags)
        expect(
          longs.filter((long) => long === flag.split(" ")[0]),
          `${name} ${flag}`,
        ).toHaveLength(1);
    }
  });

  it("gives a run flag one meaning in every command that offers it (--window, --label-fps...)", () => {
    for (const [name, command] of commands(program))
      for (const option of command.options) {
        const declared = runFlags.find((flag) => flag.flag.split(" ")[0] === option.long);
        if (declared) expect(option.description, `${name} ${option.long}`).toBe(declared.help);
      }
  });

  it("offers --force on every command that writes a folder", () => {
    const byName = new Map(commands(program));
    for (const name of ["run", "artifacts", "faces", "ecg"])
      expect(
        byName.get(name)!.options.map((option) => option.long),
        name,
      ).toContain("--force");
  });
});

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { clearErrorNaming, fuzz, mutations } from "../../../tests/harness/fuzz.ts";
import { decodeSafetensors, SafetensorsError } from "../src/safetensors.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../../shared/fixtures/densenet-tiny");

describe("decodeSafetensors fuzzed from files PyTorch wrote", () => {
  it.each(["weights.safetensors", "expected.safetensors"])(
    "%s: every mutation ends in tensors that fit the file or a clear SafetensorsError",
    (name) => {
      const original = readFileSync(path.join(fixtures, name));
      const clear = clearErrorNaming(name);
      const outcome = fuzz(mutations(original, 600, name.length), (bytes) => decodeSafetensors(bytes, name), {
        clear: (error) => error instanceof SafetensorsError && clear(error),
        check: (file) => {
          for (const [tensorName, tensor] of Object.entries(file.tensors))
            if (tensor.data.length !== tensor.shape.reduce((n, d) => n * d, 1))
              throw new Error(`${tensorName}: ${tensor.data.length} values for shape ${tensor.shape}`);
        },
        maxMs: 250,
      });
      expect(outcome.refused).toBeGreaterThan(0);
      expect(outcome.heapGrowthBytes).toBeLessThan(128 * 2 ** 20);
    },
  );
});

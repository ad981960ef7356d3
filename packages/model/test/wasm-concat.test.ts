import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { selectTfjsBackend } from "../src/tfjs-backend.ts";

/** Concatenations of every axis, with short blocks (the replacement) and long ones (the original kernel). */
function concatenations(): tf.Tensor[] {
  const ramp = (shape: number[], from: number) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => from + i),
      shape,
      "float32",
    );
  return tf.tidy(() => {
    const results: tf.Tensor[] = [];
    for (let axis = 0; axis < 4; axis++) {
      const shapeA = [2, 5, 7, 3];
      const shapeB = [...shapeA];
      shapeB[axis] = 2;
      results.push(tf.keep(tf.concat([ramp(shapeA, 0), ramp(shapeB, 1000), ramp(shapeA, 2000)], axis)));
    }
    // face-api's case: three one-channel planes into an RGB image.
    results.push(
      tf.keep(
        tf.concat([tf.fill([1, 40, 40, 1], 0.5), tf.fill([1, 40, 40, 1], 0.4), ramp([1, 40, 40, 1], 0)], 3),
      ),
    );
    results.push(tf.keep(tf.concat([ramp([3, 100], 0), ramp([3, 20], 500)], 1).toInt()));
    return results;
  });
}

describe("Concat kernel on the wasm backend", () => {
  it("gives the cpu backend's results on every axis, for short and long blocks", async () => {
    await tf.setBackend("cpu");
    const expected = concatenations().map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    const choice = await selectTfjsBackend(undefined, "wasm");
    expect(choice.name).toBe("wasm");
    const actual = concatenations().map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    expect(actual).toEqual(expected);
  });
});

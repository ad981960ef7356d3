import type * as tfjs from "@tensorflow/tfjs";

/** The two methods of tfjs-backend-wasm's backend that a kernel needs to write its output. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tfjs.DataType): tfjs.TensorInfo;
  typedArrayFromHeap(tensor: tfjs.TensorInfo): tfjs.TypedArray;
}

/** Blocks up to this many elements are copied element by element; longer ones by the original kernel. */
const shortBlock = 64;

let registered = false;

/**
 * Replaces tfjs-backend-wasm's Concat kernel (4.22) with one that is fast on short blocks.
 * The original copies each block of the inner dimensions with one `subarray` + `set`: joining three
 * 320 x 320 x 1 planes along the channel axis, as face-api's mean-colour normalisation does on every
 * detection, makes 307,200 typed-array views, about 20 ms and most of the face stage's garbage. Here
 * short blocks are copied element by element; anything else (strings, empty inputs, long blocks)
 * goes to the original kernel.
 */
export function registerFastWasmConcat(tf: typeof tfjs): void {
  if (registered) return;
  const original = tf.getKernel(tf.Concat, "wasm");
  if (!original) return;
  registered = true;
  tf.unregisterKernel(tf.Concat, "wasm");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const inputs = args.inputs as unknown as tfjs.TensorInfo[];
      const backend = args.backend as unknown as WasmBackend;
      const { axis: axisAttr } = args.attrs as unknown as tfjs.ConcatAttrs;
      const axis = tf.util.parseAxisParam(axisAttr, inputs[0]!.shape)[0]!;
      const blocks = inputs.map((input) => tf.util.sizeFromShape(input.shape.slice(axis)));
      if (
        inputs.length < 2 ||
        inputs.some((input) => input.dtype === "string" || tf.util.sizeFromShape(input.shape) === 0) ||
        Math.max(...blocks) > shortBlock
      )
        return original.kernelFunc(args);
      tf.backend_util.assertParamsConsistent(
        inputs.map((input) => input.shape),
        axis,
      );
      const outShape = tf.backend_util.computeOutShape(
        inputs.map((input) => input.shape),
        axis,
      );
      const out = backend.makeOutput(outShape, inputs[0]!.dtype);
      const outValues = backend.typedArrayFromHeap(out);
      const outBlock = blocks.reduce((sum, block) => sum + block, 0);
      const batches = tf.util.sizeFromShape(inputs[0]!.shape.slice(0, axis));
      let offset = 0;
      for (const [i, input] of inputs.entries()) {
        const values = backend.typedArrayFromHeap(input);
        const block = blocks[i]!;
        for (let b = 0; b < batches; b++) {
          const from = b * block;
          const to = b * outBlock + offset;
          for (let k = 0; k < block; k++) outValues[to + k] = values[from + k]!;
        }
        offset += block;
      }
      return out;
    },
  });
}

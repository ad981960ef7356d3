import { FeatureExtractor } from "@hrpipe/model";

const t0 = performance.now();
const fx = await FeatureExtractor.create({ batchSize: 8 });
console.log("build+session ms", performance.now() - t0, fx.onnxModel.length);
const n = 32;
const imgs = new Uint8Array(n * 128 * 128 * 3).map((_, i) => (i * 7) % 255);
await fx.embed(imgs.subarray(0, 8 * 128 * 128 * 3), { count: 8, height: 128, width: 128 });
const t1 = performance.now();
await fx.embed(imgs, { count: n, height: 128, width: 128 });
console.log("img/s", n / ((performance.now() - t1) / 1000));

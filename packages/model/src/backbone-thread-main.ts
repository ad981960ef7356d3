import { parentPort, workerData } from "node:worker_threads";
import type { ThreadOptions, ThreadReply, ThreadRequest } from "./backbone-thread.ts";
import { FeatureExtractor } from "./feature-extractor.ts";

// The thread a BackboneThread starts: it builds the backbone, then embeds one request at a time.
const port = parentPort!;
const reply = (message: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
try {
  const extractor = await FeatureExtractor.create(workerData as ThreadOptions);
  port.on("message", async (request: ThreadRequest) => {
    if (request.type === "close") {
      await extractor.close();
      port.close();
      return;
    }
    try {
      const features = await extractor.embed(request.images, request.shape, (done, total) =>
        reply({ type: "batch", id: request.id, done, total }),
      );
      reply({ type: "embedded", id: request.id, features }, [features.buffer as ArrayBuffer]);
    } catch (error) {
      reply({ type: "failed", id: request.id, message: (error as Error).message });
    }
  });
  reply({
    type: "ready",
    provenance: extractor.provenance,
    featureDim: extractor.featureDim,
    batchSize: extractor.batchSize,
    executionProvider: extractor.executionProvider,
  });
} catch (error) {
  reply({ type: "failed", message: (error as Error).message });
}

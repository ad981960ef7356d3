import { artifactKeys } from "@hrpipe/contracts";
import { NetworkSessions } from "@hrpipe/model";
import { defineStage, type StageServices } from "@hrpipe/runtime";
import { processNeuralJob } from "./processor.ts";

const sessions = ({ shared, storage }: StageServices) =>
  shared(
    "network sessions",
    () => new NetworkSessions((hash) => storage.get(artifactKeys.neuralModel(hash, "model.onnx"))),
  );

/**
 * Binds the neural processor to the `neural` queue. Each imported network's graph is read from
 * storage and put in an ONNX Runtime session once per process (CUDA where its provider is installed),
 * and every result names the execution provider.
 */
export const neuralStage = defineStage("neural", (services) => {
  const networks = sessions(services);
  return async (payload, { logger }) =>
    processNeuralJob(payload, {
      storage: services.storage,
      session: (model) => networks.get(model.hash),
      logger,
    });
});

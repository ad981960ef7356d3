import { parentPort } from "node:worker_threads";
import { MediaError } from "@hrpipe/media";
import { type AnalysisReply, type AnalysisRequest, analysisBuffers, LocalFaceAnalyser } from "./analyser.ts";

// The thread FaceAnalysisThreads starts: it analyses one window at a time with nets of its own.
const port = parentPort!;
const analyser = new LocalFaceAnalyser();
const reply = (message: AnalysisReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
port.on("message", async ({ id, ...task }: AnalysisRequest) => {
  try {
    const analysis = await analyser.analyse(task, (done, total) =>
      reply({ type: "progress", id, done, total }),
    );
    reply({ type: "analysed", id, analysis }, analysisBuffers(analysis));
  } catch (error) {
    reply({ type: "failed", id, message: (error as Error).message, media: error instanceof MediaError });
  }
});

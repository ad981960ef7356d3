import { parentPort } from "node:worker_threads";
import { launcher, MediaError } from "@hrpipe/media";
import { type AnalysisReply, type AnalysisRequest, analysisBuffers, LocalFaceAnalyser } from "./analyser.ts";

// The thread FaceAnalysisThreads starts: it analyses one window at a time with nets of its own.
const port = parentPort!;
const analyser = new LocalFaceAnalyser();
const reply = (message: AnalysisReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
port.on("message", async (message: AnalysisRequest | "close") => {
  if (message === "close") {
    // The helper that started this thread's ffmpeg ends and is waited for (its CPU time then counts
    // as the process's), and with the port closed the thread has nothing left to do: it exits.
    await launcher.close();
    port.close();
    return;
  }
  const { id, ...task } = message;
  try {
    const analysis = await analyser.analyse(task, (done, total) =>
      reply({ type: "progress", id, done, total }),
    );
    reply({ type: "analysed", id, analysis }, analysisBuffers(analysis));
  } catch (error) {
    reply({ type: "failed", id, message: (error as Error).message, media: error instanceof MediaError });
  }
});

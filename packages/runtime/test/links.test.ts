import { type FlowNode, type LinkedJob, parsePayload, type StageLinks, stageGraph } from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { addLinkedJobs, declaredLinks } from "../src/links.ts";
import type { StageQueues } from "../src/queues.ts";

/** The producer side as the runtime calls it, recording instead of talking to Redis. */
function recordingQueues() {
  const bulks: { stage: string; jobs: { payload: unknown; options: Record<string, unknown> }[] }[] = [];
  const flows: FlowNode[] = [];
  const queues = {
    addBulk: async (stage: string, jobs: (typeof bulks)[number]["jobs"]) => void bulks.push({ stage, jobs }),
    addFlow: async (flow: FlowNode) => void flows.push(flow),
  } as unknown as StageQueues;
  return { queues, bulks, flows };
}

const run = { id: "ingest.r1", queueQualifiedName: "bull:ingest", opts: {} };
const decodeJob = {
  id: "decode.r1.P01.4",
  queueQualifiedName: "bull:decode",
  opts: { parent: { id: "ingest.r1", queue: "bull:ingest" } },
};
const ecgJob: LinkedJob = {
  stage: "labels",
  jobId: "labels.r1.P01",
  payload: { runId: "r1", participant: "P01", matKey: "ds/P01.mat" },
};
const faceJob = (segment: number): LinkedJob => ({
  stage: "face",
  jobId: `face.r1.P01.4.${segment}`,
  payload: {
    runId: "r1",
    participant: "P01",
    videoId: "4",
    facesHash: "fh",
    segment,
    chunkKey: `frames/${segment}.mkv`,
    chunkSha256: "0".repeat(64),
    firstFrame: 0,
    frameCount: 10,
    fps: 25,
    width: 64,
    height: 64,
  },
});

describe("addLinkedJobs (what a job leads to -> queued jobs)", () => {
  it("puts a job's gathered jobs under the run, one bulk round trip per stage, with their ids", async () => {
    const { queues, bulks, flows } = recordingQueues();
    await addLinkedJobs(queues, { gathered: [faceJob(0), faceJob(1)] }, decodeJob);
    expect(bulks).toEqual([
      {
        stage: "face",
        jobs: [0, 1].map((segment) => ({
          payload: faceJob(segment).payload,
          options: {
            jobId: `face.r1.P01.4.${segment}`,
            parent: decodeJob.opts.parent,
            ignoreDependencyOnFailure: true,
          },
        })),
      },
    ]);
    expect(flows).toEqual([]);
  });

  it("puts the jobs of a job that waits for them (resumeWith) under that job itself", async () => {
    const { queues, bulks } = recordingQueues();
    const links: StageLinks = {
      gathered: [ecgJob],
      resumeWith: parsePayload("ingest", { runId: "r1", datasetPrefix: "ds", step: "gather" }),
    };
    await addLinkedJobs(queues, links, run);
    expect(bulks[0]!.jobs[0]!.options).toEqual({
      jobId: "labels.r1.P01",
      parent: { id: "ingest.r1", queue: "bull:ingest" },
      ignoreDependencyOnFailure: true,
    });
  });

  it("adds a job outside any run without a parent, and a flow as it is", async () => {
    const { queues, bulks, flows } = recordingQueues();
    const flow: FlowNode = { stage: "report", payload: { runId: "r1" }, jobId: "report.r1" };
    await addLinkedJobs(queues, { gathered: [ecgJob], flow }, run);
    expect(bulks[0]!.jobs[0]!.options).toEqual({ jobId: "labels.r1.P01" });
    expect(flows).toEqual([flow]);
  });

  it("refuses a link that returns a job of a stage its declaration does not name, naming both", () => {
    const declared = stageGraph.face.links;
    stageGraph.face.links = { adds: declared.adds, jobs: () => ({ gathered: [ecgJob] }) };
    try {
      expect(() => declaredLinks("face", {} as never, {} as never)).toThrow(
        "the face stage's links returned a job of the labels stage, which stageGraph.face.links.adds does not name; declare it there.",
      );
    } finally {
      stageGraph.face.links = declared;
    }
  });
});

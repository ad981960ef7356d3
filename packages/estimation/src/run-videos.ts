import {
  artifactKeys,
  type CnnWindows,
  decodePulseShard,
  type ProtocolName,
  type RunManifest,
  type TunedNetwork,
  trialLabelsSchema,
  tunedName,
  tunedNetworkSchema,
  type VideoArtifacts,
  type VideoReport,
  videoRef,
} from "@hrpipe/contracts";
import { loadVideoTraces, readArtifact, type Storage } from "@hrpipe/runtime/storage";
import { type NetworkTail, tailPulse } from "@hrpipe/signal";
import { type EstimationOptions, type NetworkPulse, videoReport } from "./video.ts";

/** The networks one protocol fine-tuned, and the videos it tested them on (none of which they saw). */
export interface ProtocolTunedNetworks {
  protocol: ProtocolName;
  test: Set<string>;
  /** Network name -> its fine-tuned tail. */
  tails: Record<string, NetworkTail>;
  /** Network name -> what was trained and how (the document the tail came from). */
  documents: Record<string, TunedNetwork>;
}

/** What a protocol's train stage fine-tuned (runs/<id>/models/<protocol>/<name>-ft.json), where it did. */
export async function readTunedNetworks(
  storage: Storage,
  manifest: RunManifest,
  protocol: ProtocolName,
): Promise<ProtocolTunedNetworks> {
  const tails: Record<string, NetworkTail> = {};
  const documents: Record<string, TunedNetwork> = {};
  for (const network of manifest.networks) {
    const key = artifactKeys.runTunedNetwork(manifest.runId, protocol, network.name);
    if (!(await storage.exists(key))) continue;
    const tuned = await readArtifact(storage, key, tunedNetworkSchema);
    documents[network.name] = tuned;
    const { tail } = tuned;
    tails[network.name] =
      tail.kind === "temporal-conv"
        ? { ...tail, weight: Float64Array.from(tail.weight) }
        : {
            ...tail,
            scale: Float64Array.from(tail.scale),
            shift: Float64Array.from(tail.shift),
            weight: Float64Array.from(tail.weight),
          };
  }
  return { protocol, test: new Set(manifest.splits[protocol]?.test ?? []), tails, documents };
}

/**
 * A video's network pulses: each network as imported, and as fine-tuned by the first protocol that
 * tested the video (`<name>-ft`, its pulse from the cached activations through the tuned tail).
 */
export async function loadNetworkPulses(
  storage: Storage,
  video: Pick<VideoArtifacts, "participant" | "videoId" | "pulses">,
  tuned: ProtocolTunedNetworks[],
): Promise<Record<string, NetworkPulse>> {
  const ref = videoRef(video.participant, video.videoId);
  const pulses: Record<string, NetworkPulse> = {};
  for (const [name, key] of Object.entries(video.pulses)) {
    const shard = decodePulseShard(await storage.get(key), key);
    pulses[name] = { pulse: Float64Array.from(shard.pulse), faceFound: shard.faceFound };
    const testedBy = tuned.find((protocol) => protocol.test.has(ref) && protocol.tails[name]);
    if (testedBy && shard.activations)
      pulses[tunedName(name)] = {
        pulse: tailPulse(shard.activations, shard.positions, testedBy.tails[name]!),
        faceFound: shard.faceFound,
        protocol: testedBy.protocol,
      };
  }
  return pulses;
}

/**
 * Every planned video of a gathered run, and every one its plan excluded, each with every method's
 * and network's heart rate over time against its labels: what the run report and `hrpipe rppg
 * <folder>` list.
 */
export async function runVideoReports(
  storage: Storage,
  manifest: RunManifest,
  cnn: CnnWindows[],
  options: EstimationOptions = manifest.options.eval,
  tuned: ProtocolTunedNetworks[] = [],
): Promise<Omit<VideoReport, "figure">[]> {
  const reports: Omit<VideoReport, "figure">[] = [];
  for (const video of manifest.videos) {
    const artifacts = manifest.artifacts.find(
      (a) => a.participant === video.participant && a.videoId === video.videoId,
    );
    const excluded = manifest.excluded.find(
      (e) => e.participant === video.participant && e.videoId === video.videoId && e.segment === undefined,
    );
    reports.push(
      videoReport(
        {
          video,
          artifacts,
          labels: artifacts?.labelsKey
            ? await readArtifact(storage, artifacts.labelsKey, trialLabelsSchema)
            : undefined,
          traces: artifacts ? await loadVideoTraces(storage, artifacts) : undefined,
          networks: artifacts ? await loadNetworkPulses(storage, artifacts, tuned) : undefined,
          excluded: artifacts ? undefined : excluded?.reason,
        },
        cnn,
        options,
      ),
    );
  }
  for (const exclusion of manifest.excluded) {
    if (exclusion.stage !== "ingest" || exclusion.videoId === undefined) continue;
    reports.push({
      subject: exclusion.participant,
      video: exclusion.path ?? exclusion.key ?? exclusion.videoId,
      participant: exclusion.participant,
      videoId: exclusion.videoId,
      durationS: null,
      referenceHrBpm: null,
      excluded: exclusion.reason,
      referenceHrv: null,
      methods: {},
    });
  }
  return reports;
}

/** What stage jobs return: the ingest step that gathers a run reads these from BullMQ. */

export interface EcgJobResult {
  participant: string;
  /** Content address of the participant's label files. */
  hash: string;
  labels: { videoId: string; key: string; labelledShare: number }[];
  excluded: { videoId: string; reason: string }[];
  /** True when every artifact already existed and nothing was computed. */
  skipped: boolean;
}

export interface DecodeJobResult {
  participant: string;
  videoId: string;
  facesHash: string;
  fps: number;
  frameCount: number;
  width: number;
  height: number;
  /** Every segment of the video. */
  segments: { segment: number; firstFrame: number; frameCount: number }[];
  /** Segments whose shards already existed (no face job was needed). */
  done: number[];
  /** Segments sent to face jobs, with their chunk. */
  chunks: {
    segment: number;
    firstFrame: number;
    frameCount: number;
    chunkKey: string;
    chunkSha256: string;
    bytes: number;
  }[];
  chunkBytesPerVideoS: number;
}

export interface FaceJobResult {
  participant: string;
  videoId: string;
  segment: number;
  facesKey: string;
  tracesKey: string;
  frames: number;
  /** Frames with a face; -1 when the shards already existed. */
  facesFound: number;
  skipped: boolean;
}

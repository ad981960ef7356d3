/**
 * A job failure that no retry can fix. The queue binding (createStageWorker) fails such a job at once,
 * as BullMQ's UnrecoverableError, instead of retrying it; elsewhere it is an error like any other.
 * Defined without BullMQ, so that a process that only reads and writes storage does not load it.
 */
export class UnretryableError extends Error {
  override name = "UnretryableError";
}

/**
 * Input that no retry can fix (corrupt video, unreadable .mat, no face, no usable ECG); the message
 * names the file and the reason.
 */
export class BadInputError extends UnretryableError {
  override name = "BadInputError";
}

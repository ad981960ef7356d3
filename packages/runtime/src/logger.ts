import { destination, type Logger, pino } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  level?: string;
  /** Pretty, coloured lines; defaults to whether stderr is a terminal. JSON lines otherwise. */
  pretty?: boolean;
}

/** The root logger writes to stderr so that command output on stdout stays machine-readable. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino({
      level,
      transport: {
        target: "pino-pretty",
        options: { destination: 2, colorize: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" },
      },
    });
  }
  return pino({ level }, destination(2));
}

export interface JobBindings {
  runId?: string;
  stage?: string;
  jobId?: string;
}

/** A child logger whose every line carries the run, stage and job it concerns. */
export function jobLogger(logger: Logger, bindings: JobBindings): Logger {
  const defined = Object.fromEntries(Object.entries(bindings).filter(([, value]) => value !== undefined));
  return logger.child(defined);
}

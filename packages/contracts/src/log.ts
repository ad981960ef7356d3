/**
 * What a library below the stages needs of a logger: structured lines at two levels. The runtime's
 * logger is one; a library that takes a `LogSink` stays free of the logging package.
 */
export interface LogSink {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

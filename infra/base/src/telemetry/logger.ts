import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { loggableError } from './loggable-error.js';

export type { Logger };

/** Structured JSON logs on stdout (or `destination`, where tests read them back), one object a line (DESIGN §8). */
export function createLogger(level: LevelWithSilent = 'info', name = 'registo', destination?: DestinationStream): Logger {
  // Every `err` logged anywhere goes through one serializer that keeps values out (loggable-error.ts).
  const options = { name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: (e: unknown) => (e instanceof Error ? loggableError(e) : e) } };
  return destination ? pino(options, destination) : pino(options);
}

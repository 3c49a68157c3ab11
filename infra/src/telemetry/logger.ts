import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout (or `destination`, where tests read them back), one object a line (DESIGN §8). */
export function createLogger(level: LevelWithSilent = 'info', name = 'registo', destination?: DestinationStream): Logger {
  const options = { name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}

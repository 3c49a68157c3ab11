import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout, one object a line (DESIGN §8). */
export function createLogger(level: LevelWithSilent = 'info', name = 'registo'): Logger {
  return pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
}

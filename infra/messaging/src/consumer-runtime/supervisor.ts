import type { Logger } from '@registo/base';

/** What a supervised worker is doing now, as /readyz shows it. */
export type WorkerState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/**
 * Failures that starting again cannot mend: the worker's Kafka position belongs to another store.
 * The worker stays down ('failed', not restarted) until an operator has acted and restarts the
 * platform; readiness says why meanwhile.
 */
export const FAILURES_NOT_RESTARTED: ReadonlySet<string> = new Set(['MIRROR_CHECKPOINT_FOREIGN', 'CONSUMER_OFFSETS_FOREIGN', 'TOPIC_EVENTS_FOREIGN']);

export interface WorkerHealth {
  state: WorkerState;
  restarts: number;
  /** When the worker entered its current state. */
  since: string;
  /** Why it last failed: the error's code (or name) and message; never data it was handling. */
  lastError?: { code: string; message: string; at: string };
  /** When the next start is due, while restarting. */
  nextStartAt?: string;
}

export interface SupervisorOptions {
  /** First back-off; doubled per consecutive failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run that lasted this long counts as healthy: the next failure starts the back-off again. */
  healthyAfterMs?: number;
}

export interface Supervised {
  health(): WorkerHealth;
  stop(): Promise<void>;
}

function describeError(e: unknown): { code: string; message: string } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : e.name, message: e.message.slice(0, 300) };
  }
  return { code: 'UNKNOWN', message: String(e).slice(0, 300) };
}

/**
 * Keeps a long-running worker running: `run` is called again, with back-off, whenever it
 * fails or returns while the platform is not stopping. `run` builds its worker afresh each
 * time (a worker that failed may hold broken connections). The state is what readiness
 * reports: a worker that is restarting is down, and the platform is not ready meanwhile. A
 * failure in FAILURES_NOT_RESTARTED ends the loop instead: the worker is 'failed' for good.
 */
export function supervise(name: string, logger: Logger, run: () => Promise<void>, stop: () => Promise<void>, options: SupervisorOptions = {}): Supervised {
  const initial = options.initialBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 10_000;
  const healthyAfter = options.healthyAfterMs ?? 30_000;
  let stopping = false;
  let wake: (() => void) | undefined;
  const health: WorkerHealth = { state: 'starting', restarts: 0, since: new Date().toISOString() };
  const enter = (state: WorkerState): void => {
    health.state = state;
    health.since = new Date().toISOString();
    if (state !== 'restarting') delete health.nextStartAt;
  };
  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      const began = Date.now();
      enter('running');
      try {
        await run();
        if (stopping) break;
        health.lastError = { code: 'WORKER_ENDED', message: 'the worker returned while the platform runs', at: new Date().toISOString() };
        logger.warn({ role: name }, 'role ended; restarting');
      } catch (e) {
        if (stopping) break;
        health.lastError = { ...describeError(e), at: new Date().toISOString() };
        if (FAILURES_NOT_RESTARTED.has(health.lastError.code)) {
          logger.error({ role: name, err: health.lastError }, 'role failed; not restarted (a restart cannot mend this)');
          enter('failed');
          return;
        }
        logger.error({ role: name, err: health.lastError }, 'role failed; restarting');
      }
      failures = Date.now() - began >= healthyAfter ? 1 : failures + 1;
      health.restarts++;
      const backoff = Math.min(max, initial * 2 ** (failures - 1));
      enter('restarting');
      health.nextStartAt = new Date(Date.now() + backoff).toISOString();
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    enter('stopped');
  };
  const done = loop();
  return {
    health: () => ({ ...health, ...(health.lastError && { lastError: { ...health.lastError } }) }),
    async stop() {
      stopping = true;
      wake?.();
      await stop().catch(() => undefined);
      await done;
      // A worker that failed for good left its loop long ago; now it is stopped too.
      enter('stopped');
    },
  };
}

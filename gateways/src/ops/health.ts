import type { FastifyInstance } from 'fastify';
import type { EventStore } from '@registo/event-store';
import { RegistoError } from '@registo/schemas';
import { sendProblem } from '../http/problem.js';

export interface WorkerDown {
  name: string;
  state: 'restarting' | 'failed';
  /** The code of the error that took it down. */
  cause?: string;
}

export interface HealthDeps {
  eventStore: EventStore;
  /** What runs, for the readiness answer. */
  describe: () => Record<string, unknown>;
  /** The supervised workers that are down now (restarting, or failed for good): not ready while any is. */
  workersDown?: () => WorkerDown[];
}

/**
 * /healthz: the process is alive (for a liveness probe: restart me if this fails).
 * /readyz: the event store answers (for a readiness probe: send me traffic).
 */
export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const started = performance.now();
    try {
      await deps.eventStore.ping();
      const head = await deps.eventStore.headPosition();
      const down = deps.workersDown?.() ?? [];
      if (down.length > 0) {
        const said = down.map((w) => `${w.name} ${w.state}${w.cause ? ` (${w.cause})` : ''}`).join(', ');
        return sendProblem(reply, request, new RegistoError('WORKER_DOWN', `not ready: ${said}`, { workersDown: down.map((w) => w.name), ...deps.describe() }));
      }
      return {
        status: 'ready',
        checks: { eventStore: { status: 'ok', adapter: deps.eventStore.info.adapter, headPosition: head, ms: Math.round(performance.now() - started) } },
        ...deps.describe(),
      };
    } catch (e) {
      // The store's own refusal says why (a disk below its reserve: cause, free and reserved bytes).
      const why = e instanceof RegistoError && e.code === 'STORE_UNAVAILABLE' ? e.details : {};
      return sendProblem(
        reply,
        request,
        new RegistoError('STORE_UNAVAILABLE', `event store not ready: ${(e as Error).message}`, { ...why, check: 'eventStore' }),
      );
    }
  });
}

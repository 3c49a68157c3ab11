import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NO_FAULTS, validateFaultPatch, type FaultSettings } from './fault-settings.js';
import { mulberry32, type Random } from './random.js';

export type { FaultSettings } from './fault-settings.js';

/** What happens to one request, decided when it arrives. */
interface FaultDecision {
  outage: boolean;
  delayMs: number;
  error: boolean;
  timeout: boolean;
  malformed: 'invalid-json' | 'wrong-shape' | null;
  /** Set once the fault that shaped the answer is known, for the stats. */
  outcome?: string;
  /** Already counted because no response will follow. */
  counted?: boolean;
}

export type RequestStats = Record<string, Record<string, number>>;

/**
 * Holds the current knobs, the seeded draws and the request counts of one simulator. The
 * draws are the same five per request whatever the knobs, so a seed gives one fixed sequence.
 */
export class FaultInjector {
  private current: FaultSettings;
  private random: Random;
  private readonly counts: RequestStats = {};
  private readonly now: () => number;

  constructor(initial: Partial<FaultSettings> = {}, now: () => number = Date.now) {
    const problems = validateFaultPatch(initial);
    if (problems.length > 0) throw new Error(`invalid fault settings: ${problems.join('; ')}`);
    this.current = { ...NO_FAULTS, ...initial };
    this.random = mulberry32(this.current.seed);
    this.now = now;
  }

  get settings(): FaultSettings {
    return structuredClone(this.current);
  }

  /** Applies a partial update; throws with the list of problems when it is invalid. */
  update(patch: Partial<FaultSettings>): FaultSettings {
    const problems = validateFaultPatch(patch);
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.current = { ...this.current, ...structuredClone(patch) };
    if (patch.seed !== undefined) this.random = mulberry32(patch.seed);
    return this.settings;
  }

  /** Back to a well-behaved system (and the seed's first draw). */
  reset(): FaultSettings {
    this.current = { ...NO_FAULTS };
    this.random = mulberry32(this.current.seed);
    return this.settings;
  }

  inOutage(): boolean {
    const now = this.now();
    const { outageUntil, outages } = this.current;
    if (outageUntil !== null && now < Date.parse(outageUntil)) return true;
    return outages.some((w) => Date.parse(w.from) <= now && now < Date.parse(w.until));
  }

  /** Seconds until the current outage ends, for Retry-After. */
  outageRemainingSeconds(): number {
    const now = this.now();
    const ends = [
      ...(this.current.outageUntil !== null ? [Date.parse(this.current.outageUntil)] : []),
      ...this.current.outages.filter((w) => Date.parse(w.from) <= now).map((w) => Date.parse(w.until)),
    ].filter((end) => end > now);
    return Math.max(1, Math.ceil((Math.max(now, ...ends) - now) / 1000));
  }

  decide(): FaultDecision {
    const s = this.current;
    const [errorDraw, timeoutDraw, malformedDraw, jitterDraw, modeDraw] = [1, 2, 3, 4, 5].map(() => this.random()) as [
      number, number, number, number, number,
    ];
    const malformedKind = s.malformedMode === 'mixed' ? (modeDraw < 0.5 ? 'invalid-json' : 'wrong-shape') : s.malformedMode;
    return {
      outage: this.inOutage(),
      delayMs: s.latencyMs + Math.floor(jitterDraw * s.jitterMs),
      error: errorDraw < s.errorRate,
      timeout: timeoutDraw < s.timeoutRate,
      malformed: malformedDraw < s.malformedRate ? malformedKind : null,
    };
  }

  count(route: string, outcome: string): void {
    const byOutcome = (this.counts[route] ??= {});
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
  }

  get stats(): { total: number; byRoute: RequestStats } {
    const byRoute = structuredClone(this.counts);
    const total = Object.values(byRoute).reduce((sum, o) => sum + Object.values(o).reduce((a, b) => a + b, 0), 0);
    return { total, byRoute };
  }

  clearStats(): void {
    for (const key of Object.keys(this.counts)) delete this.counts[key];
  }
}

const INVALID_JSON = '{"match": tru';
const WRONG_SHAPE = JSON.stringify({ status: 'OK', result: ['unexpected'] });

function isAdmin(request: FastifyRequest): boolean {
  return request.url.startsWith('/_admin/');
}

function routeKey(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
}

function outcomeOf(status: number): string {
  if (status >= 200 && status < 300) return 'ok';
  const names: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 404: 'not_found' };
  return names[status] ?? `http_${status}`;
}

/**
 * Resolves after `ms` (never when null), or as soon as the client goes away or the app is
 * closing: a held request must not keep the process or the test run alive.
 */
function hold(ms: number | null, request: FastifyRequest, closing: AbortSignal): Promise<void> {
  if (ms === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      request.raw.socket?.off('close', done);
      closing.removeEventListener('abort', done);
      resolve();
    };
    const timer = ms === null ? undefined : setTimeout(done, ms);
    request.raw.socket?.once('close', done);
    closing.addEventListener('abort', done, { once: true });
  });
}

function clientGone(request: FastifyRequest): boolean {
  return request.raw.socket?.destroyed ?? true;
}

function abandon(reply: FastifyReply): FastifyReply {
  reply.hijack();
  reply.raw.destroy();
  return reply;
}

/**
 * Installs the fault hooks and the admin endpoints. Register before the routes' own hooks
 * (auth), since a network fault happens whatever the request carries.
 */
export function installFaults(app: FastifyInstance, injector: FaultInjector): void {
  const decisions = new WeakMap<FastifyRequest, FaultDecision>();
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  app.addHook('onRequest', async (request, reply) => {
    if (isAdmin(request)) return;
    const decision = injector.decide();
    decisions.set(request, decision);
    if (decision.outage) {
      decision.outcome = 'outage';
      return reply
        .code(503)
        .header('retry-after', String(injector.outageRemainingSeconds()))
        .send({ error: 'Service Unavailable', message: 'scheduled outage' });
    }
    await hold(decision.delayMs, request, closing.signal);
    if (clientGone(request) || closing.signal.aborted) return abandon(reply);
    if (decision.error) {
      decision.outcome = 'error';
      return reply.code(500).send({ error: 'Internal Server Error', message: 'injected fault' });
    }
    if (decision.timeout) {
      decision.outcome = 'timeout';
      const delay = injector.settings.timeoutDelayMs;
      await hold(delay, request, closing.signal);
      if (delay === null || clientGone(request) || closing.signal.aborted) {
        // Never answered: count it now, as no response hook will run.
        injector.count(routeKey(request), 'timeout');
        decision.counted = true;
        return abandon(reply);
      }
    }
    return undefined;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const decision = decisions.get(request);
    if (!decision?.malformed || reply.statusCode < 200 || reply.statusCode >= 300) return payload;
    decision.outcome = 'malformed';
    reply.header('content-type', 'application/json; charset=utf-8');
    return decision.malformed === 'invalid-json' ? INVALID_JSON : WRONG_SHAPE;
  });

  app.addHook('onResponse', async (request, reply) => {
    const decision = decisions.get(request);
    if (isAdmin(request) || decision?.counted) return;
    injector.count(routeKey(request), decision?.outcome ?? outcomeOf(reply.statusCode));
  });

  app.get('/_admin/faults', async () => injector.settings);
  app.put('/_admin/faults', async (request, reply) => {
    const problems = validateFaultPatch(request.body);
    if (problems.length > 0) return reply.code(400).send({ error: 'Bad Request', problems });
    return injector.update(request.body as Partial<FaultSettings>);
  });
  app.delete('/_admin/faults', async () => injector.reset());
  app.get('/_admin/stats', async () => injector.stats);
  app.delete('/_admin/stats', async (_request, reply) => {
    injector.clearStats();
    return reply.code(204).send();
  });
}

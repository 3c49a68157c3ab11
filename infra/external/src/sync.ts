import { ConsecutiveBreaker, BrokenCircuitError, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { RegistoError, isRegistoError } from '@registo/schemas';
import { ExternalHttpClient, replyInvalid, type ExternalCallOptions, type HttpConnectorOptions } from './http-json.js';
import { isRecord, requireString, type Problems } from './reply-shape.js';

/**
 * Keeping SIGA and Immigration in step with the register (DESIGN §3): the platform sends
 * status updates (idempotent by key), reads the system's change feed, and takes its bulk
 * export for reconciliation. One port, one HTTP adapter, one resilience wrapper.
 */

export type SyncSystem = 'SIGA' | 'IMMIGRATION';

export interface StatusUpdateResult {
  /** The system had already applied this idempotency key and answered from its store. */
  replayed: boolean;
  reference: string | null;
}

export interface ExternalChange {
  seq: number;
  changeId: string;
  /** DECEASED, NAME_CORRECTED (SIGA); PERMIT_EXPIRED, PERMIT_REVOKED (Immigration). */
  type: string;
  uin: string;
  at: string;
  details: Record<string, string>;
}

export type ExternalRecord = Record<string, string | null>;

export interface ExternalSyncPort {
  readonly system: SyncSystem;
  /** `idempotencyKey` is required: a retried update must not be applied twice. */
  sendStatusUpdate(body: Record<string, unknown>, options: ExternalCallOptions & { idempotencyKey: string }): Promise<StatusUpdateResult>;
  changes(after: number, limit?: number, options?: ExternalCallOptions): Promise<{ changes: ExternalChange[]; last: number }>;
  exportIdentities(options?: ExternalCallOptions): Promise<ExternalRecord[]>;
}

export function changeProblems(body: unknown): Problems {
  if (!isRecord(body)) return ['changes must be an object'];
  if (!Array.isArray(body.changes)) return ['changes must be a list'];
  const problems: Problems = [];
  if (typeof body.last !== 'number') problems.push('last must be a number');
  body.changes.forEach((c: unknown, i: number) => {
    if (!isRecord(c)) return problems.push(`changes[${i}] must be an object`);
    for (const f of ['changeId', 'type', 'uin', 'at']) requireString(c, f, problems, `changes[${i}].`);
    if (typeof c.seq !== 'number') problems.push(`changes[${i}].seq must be a number`);
    if (!isRecord(c.details)) problems.push(`changes[${i}].details must be an object`);
    return undefined;
  });
  return problems;
}

/** Talks to SIGA's or Immigration's sync endpoints over HTTP with its own service account. */
export class SyncHttpConnector implements ExternalSyncPort {
  private readonly http: ExternalHttpClient;

  constructor(
    readonly system: SyncSystem,
    options: HttpConnectorOptions,
  ) {
    this.http = new ExternalHttpClient(system, options);
  }

  async sendStatusUpdate(body: Record<string, unknown>, options: ExternalCallOptions & { idempotencyKey: string }): Promise<StatusUpdateResult> {
    const path = '/v1/status-updates';
    const reply = await this.http.send({ method: 'POST', path, body }, options);
    if (reply.status === 404) throw new RegistoError('EXTERNAL_REJECTED', `${this.system}: no status-update endpoint (404)`, { system: this.system, retryable: false, path, status: 404 });
    const b = reply.body;
    // The answer must be about the identity we sent: anything else is no confirmation.
    if (!isRecord(b) || b.uin !== body.uin || b.accepted !== true) throw replyInvalid(this.system, ['status update was not confirmed for this uin'], { path });
    return { replayed: reply.headers?.get('idempotent-replayed') === 'true', reference: typeof b.reference === 'string' ? b.reference : null };
  }

  async changes(after: number, limit = 100, options?: ExternalCallOptions): Promise<{ changes: ExternalChange[]; last: number }> {
    const path = `/v1/changes?after=${after}&limit=${limit}`;
    const reply = await this.http.send({ method: 'GET', path }, options);
    const problems = changeProblems(reply.body);
    if (problems.length > 0) throw replyInvalid(this.system, problems, { path: '/v1/changes' });
    return reply.body as { changes: ExternalChange[]; last: number };
  }

  async exportIdentities(options?: ExternalCallOptions): Promise<ExternalRecord[]> {
    const path = '/v1/exports/identities';
    const reply = await this.http.send({ method: 'GET', path }, { timeoutMs: 60_000, ...options });
    const b = reply.body;
    if (!isRecord(b) || !Array.isArray(b.records) || !b.records.every((r) => isRecord(r) && typeof r.uin === 'string')) {
      throw replyInvalid(this.system, ['export must be { records: [{ uin, ... }] }'], { path });
    }
    return b.records as ExternalRecord[];
  }
}

export interface ResilienceOptions {
  /** Calls per second allowed to the system (token bucket; bursts up to one second's worth). */
  ratePerSecond: number;
  /** Consecutive failures (unavailable, invalid reply) that open the circuit. */
  breakerThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  halfOpenAfterMs: number;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = { ratePerSecond: 200, breakerThreshold: 5, halfOpenAfterMs: 5_000 };

/** A token bucket: callers wait for a token rather than being refused, so a burst is smoothed, not failed. */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(): Promise<void> {
    const next = this.queue.then(async () => {
      for (;;) {
        const now = performance.now();
        this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
        this.last = now;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000)));
      }
    });
    this.queue = next;
    return next;
  }
}

/** Failures that say the system is in trouble (not that our request was wrong): they count towards opening the circuit. */
const systemTrouble = (e: unknown): boolean => isRegistoError(e, 'EXTERNAL_UNAVAILABLE') || isRegistoError(e, 'EXTERNAL_REPLY_INVALID');

/**
 * Wraps a sync port with a rate limit and a circuit breaker (cockatiel). While the circuit is
 * open, calls fail at once with EXTERNAL_UNAVAILABLE (reason circuit_open): they go to the
 * retry topic instead of piling onto a system that is down.
 */
export class ResilientSyncPort implements ExternalSyncPort {
  readonly breaker: CircuitBreakerPolicy;
  private readonly limiter: RateLimiter;

  constructor(
    private readonly inner: ExternalSyncPort,
    options: Partial<ResilienceOptions> = {},
  ) {
    const o = { ...DEFAULT_RESILIENCE, ...options };
    this.limiter = new RateLimiter(o.ratePerSecond);
    this.breaker = circuitBreaker(handleWhen(systemTrouble), { halfOpenAfter: o.halfOpenAfterMs, breaker: new ConsecutiveBreaker(o.breakerThreshold) });
  }

  get system(): SyncSystem {
    return this.inner.system;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    await this.limiter.take();
    try {
      return await this.breaker.execute(fn);
    } catch (e) {
      if (e instanceof BrokenCircuitError) {
        throw new RegistoError('EXTERNAL_UNAVAILABLE', `${this.system}: circuit open after repeated failures; ${what} not attempted`, { system: this.system, retryable: true, reason: 'circuit_open' });
      }
      throw e;
    }
  }

  sendStatusUpdate(body: Record<string, unknown>, options: ExternalCallOptions & { idempotencyKey: string }): Promise<StatusUpdateResult> {
    return this.call('status update', () => this.inner.sendStatusUpdate(body, options));
  }

  changes(after: number, limit?: number, options?: ExternalCallOptions): Promise<{ changes: ExternalChange[]; last: number }> {
    return this.call('change feed', () => this.inner.changes(after, limit, options));
  }

  exportIdentities(options?: ExternalCallOptions): Promise<ExternalRecord[]> {
    return this.call('export', () => this.inner.exportIdentities(options));
  }
}

import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Journal, JournalEntry } from './journal.js';

/**
 * What SIGA or Immigration holds about the platform's identities once the platform has told
 * it: one record per UIN, built from the status updates it accepted. It answers a repeated
 * Idempotency-Key with the first answer (and counts how often each key was applied, which the
 * fault tests read), publishes a change feed, pushes each change to a webhook, and serves a
 * bulk export for reconciliation. Admin endpoints let tests seed differences and changes.
 * Given a journal (state.ts), what it holds (records, idempotency answers, change feed) is kept
 * on disk too, as the real system keeps it; counters and the webhook settings are not.
 */

export type LedgerRecord = Record<string, string | null>;

/** A field of the record after `update`: the value sent, else the one held before, else null. */
export function keptOrUpdated(previous: LedgerRecord | undefined, update: Record<string, unknown>): (field: string) => string | null {
  return (field) => (update[field] !== undefined ? String(update[field]) : (previous?.[field] ?? null));
}

export interface LedgerChange {
  seq: number;
  changeId: string;
  type: string;
  uin: string;
  at: string;
  /** What changed: { dateOfDeath } for DECEASED, { givenNames, surname } for NAME_CORRECTED, ... */
  details: Record<string, string>;
}

export interface WebhookSettings {
  url: string | null;
  /** HMAC-SHA256 key for `x-registo-signature`. */
  secret: string;
  /** Copies of each delivery (a sender that repeats itself); 1 = once. */
  copies: number;
  /** Milliseconds before the first copy is sent. */
  delayMs: number;
}

export interface SyncLedgerSpec {
  system: 'SIGA' | 'IMMIGRATION';
  /** JSON schema of one status update (strict: unknown fields are refused). */
  updateSchema: Record<string, unknown>;
  /** Folds an accepted update into the record held for its UIN. */
  apply(previous: LedgerRecord | undefined, update: Record<string, unknown>): LedgerRecord;
  /** Folds an announced change into the record (e.g. civilStatus DECEASED). */
  applyChange(previous: LedgerRecord | undefined, change: LedgerChange): LedgerRecord | undefined;
  /** Change types the admin endpoint accepts. */
  changeTypes: readonly string[];
}

interface Applied {
  bodyHash: string;
  answer: Record<string, unknown>;
}

export interface LedgerStats {
  /** Updates applied (first time a key was seen). */
  applied: number;
  /** Repeats answered from the idempotency store. */
  replays: number;
  /** Same key, different body: refused with 409. */
  conflicts: number;
  /** How often each key was applied: never more than 1. */
  appliedByKey: Record<string, number>;
  webhookDeliveries: number;
  webhookFailures: number;
}

const hashOf = (body: unknown): string => createHash('sha256').update(JSON.stringify(body)).digest('hex');

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class SyncLedger {
  readonly records = new Map<string, LedgerRecord>();
  private readonly applied = new Map<string, Applied>();
  private readonly feed: LedgerChange[] = [];
  /** Every accepted or replayed update body as received, for data-minimisation checks. */
  readonly received: Array<{ key: string; body: Record<string, unknown> }> = [];
  /** Every update applied (first sight of its key), in order: what the system actually did. */
  readonly appliedLog: Array<{ key: string; body: Record<string, unknown> }> = [];
  private counters = { applied: 0, replays: 0, conflicts: 0, webhookDeliveries: 0, webhookFailures: 0 };
  private appliedByKey: Record<string, number> = {};
  webhook: WebhookSettings = { url: null, secret: '', copies: 1, delayMs: 0 };
  private pending = new Set<Promise<void>>();
  private journal: Journal | undefined;

  constructor(readonly spec: SyncLedgerSpec) {}

  /** From now on every change to what the ledger holds is also written to `journal` (after `restore` has replayed it). */
  keepIn(journal: Journal): void {
    this.journal = journal;
  }

  /** Resolves once every change so far is on disk (at once without a journal): answer only then. */
  saved(): Promise<void> {
    return this.journal?.saved() ?? Promise.resolve();
  }

  /** Replays one journal entry; throws on anything that is not an entry this ledger wrote. */
  restore(entry: JournalEntry): void {
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    const record = entry.record as LedgerRecord;
    switch (entry.op) {
      case 'update':
        if (typeof entry.key !== 'string' || typeof entry.bodyHash !== 'string' || !isObject(entry.answer) || !isObject(record) || typeof record.uin !== 'string') throw new Error('not an update');
        this.applied.set(entry.key, { bodyHash: entry.bodyHash, answer: entry.answer });
        this.records.set(record.uin, record);
        return;
      case 'change': {
        const change = entry.change as LedgerChange;
        if (!isObject(change) || change.seq !== this.feed.length + 1 || typeof change.uin !== 'string') throw new Error('not the next change');
        this.feed.push(change);
        if (isObject(record)) this.records.set(change.uin, record);
        return;
      }
      case 'record':
        if (typeof entry.uin !== 'string' || !isObject(record)) throw new Error('not a record');
        this.records.set(entry.uin, record);
        return;
      case 'forget':
        if (typeof entry.uin !== 'string') throw new Error('not a uin');
        this.records.delete(entry.uin);
        return;
      default:
        throw new Error('unknown entry');
    }
  }

  /** Admin: patches (or invents) the record held for `uin`. */
  putRecord(uin: string, patch: LedgerRecord): LedgerRecord {
    const record = { ...(this.records.get(uin) ?? {}), ...patch, uin };
    this.records.set(uin, record);
    this.journal?.append({ op: 'record', uin, record });
    return record;
  }

  /** Admin: forgets the record held for `uin`. */
  deleteRecord(uin: string): void {
    if (this.records.delete(uin)) this.journal?.append({ op: 'forget', uin });
  }

  get stats(): LedgerStats {
    return { ...this.counters, appliedByKey: { ...this.appliedByKey } };
  }

  clearStats(): void {
    this.counters = { applied: 0, replays: 0, conflicts: 0, webhookDeliveries: 0, webhookFailures: 0 };
    this.appliedByKey = {};
    this.received.length = 0;
    this.appliedLog.length = 0;
  }

  /** Applies an update once per key; the same key again gets the first answer, another body a conflict. */
  update(key: string, body: Record<string, unknown>): { status: 200 | 409; answer: Record<string, unknown>; replayed: boolean } {
    this.received.push({ key, body: structuredClone(body) });
    const hash = hashOf(body);
    const seen = this.applied.get(key);
    if (seen) {
      if (seen.bodyHash !== hash) {
        this.counters.conflicts++;
        return { status: 409, answer: { error: 'Conflict', message: 'Idempotency-Key reused with a different body' }, replayed: false };
      }
      this.counters.replays++;
      return { status: 200, answer: seen.answer, replayed: true };
    }
    const uin = String(body.uin);
    const record = this.spec.apply(this.records.get(uin), body);
    this.records.set(uin, record);
    const answer = { uin, accepted: true, reference: `${this.spec.system.toLowerCase()}-${randomUUID()}` };
    this.applied.set(key, { bodyHash: hash, answer });
    this.journal?.append({ op: 'update', key, bodyHash: hash, answer, record });
    this.counters.applied++;
    this.appliedLog.push({ key, body: structuredClone(body) });
    this.appliedByKey[key] = (this.appliedByKey[key] ?? 0) + 1;
    return { status: 200, answer, replayed: false };
  }

  changesAfter(after: number, limit: number): LedgerChange[] {
    return this.feed.filter((c) => c.seq > after).slice(0, limit);
  }

  /** Records a change, folds it into the record and pushes it to the webhook (if one is set). */
  announce(type: string, uin: string, details: Record<string, string>): LedgerChange {
    const seq = this.feed.length + 1;
    const change: LedgerChange = { seq, changeId: `${this.spec.system.toLowerCase()}-chg-${String(seq).padStart(6, '0')}`, type, uin, at: new Date().toISOString(), details };
    this.feed.push(change);
    const next = this.spec.applyChange(this.records.get(uin), change);
    if (next) this.records.set(uin, next);
    this.journal?.append({ op: 'change', change, record: next ?? null });
    this.push(change);
    return change;
  }

  private push(change: LedgerChange): void {
    const { url, secret, copies, delayMs } = this.webhook;
    if (!url) return;
    const body = JSON.stringify({ system: this.spec.system, change });
    const send = async (): Promise<void> => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      for (let i = 0; i < copies; i++) {
        try {
          const r = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-registo-signature': webhookSignature(secret, body), 'x-registo-delivery': change.changeId },
            body,
            signal: AbortSignal.timeout(5_000),
          });
          await r.body?.cancel().catch(() => undefined);
          if (r.ok) this.counters.webhookDeliveries++;
          else this.counters.webhookFailures++;
        } catch {
          // The receiver is down: the change feed still has it, and polling will find it.
          this.counters.webhookFailures++;
        }
      }
    };
    const p = send().finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Waits for webhook deliveries in flight (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/**
 * The routes every syncing simulator has. `/v1/*` needs the service token (checked by the app);
 * `/_admin/*` needs the admin token (checked by the app too), like the fault knobs.
 */
export function installSyncRoutes(app: FastifyInstance, ledger: SyncLedger): void {
  app.post<{ Body: Record<string, unknown> }>('/v1/status-updates', { schema: { body: ledger.spec.updateSchema } }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0 || key.length > 200) {
      return reply.code(400).send({ error: 'Bad Request', message: 'an Idempotency-Key header is required' });
    }
    const r = ledger.update(key, request.body);
    // Acknowledged once on disk, a replay too: its first answer may still be on its way there.
    await ledger.saved();
    if (r.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(r.status).send(r.answer);
  });

  app.get<{ Querystring: { after?: string; limit?: string } }>('/v1/changes', async (request) => {
    const after = Number(request.query.after ?? 0) || 0;
    const limit = Math.min(500, Math.max(1, Number(request.query.limit ?? 100) || 100));
    const changes = ledger.changesAfter(after, limit);
    return { changes, last: changes.at(-1)?.seq ?? after };
  });

  app.get('/v1/exports/identities', async () => ({
    system: ledger.spec.system,
    exportedAt: new Date().toISOString(),
    records: [...ledger.records.values()],
  }));

  app.get('/_admin/sync', async () => ledger.stats);
  app.get('/_admin/sync/received', async () => ledger.received);
  app.delete('/_admin/sync', async (_request, reply) => {
    ledger.clearStats();
    return reply.code(204).send();
  });
  app.put<{ Body: Partial<WebhookSettings> }>('/_admin/webhook', async (request, reply) => {
    const b = request.body ?? {};
    if (b.url !== undefined && b.url !== null && !/^https?:\/\//.test(String(b.url))) return reply.code(400).send({ error: 'Bad Request', message: 'url must be http(s)' });
    if (b.copies !== undefined && !(Number.isInteger(b.copies) && b.copies >= 1 && b.copies <= 10)) return reply.code(400).send({ error: 'Bad Request', message: 'copies must be 1..10' });
    ledger.webhook = { ...ledger.webhook, ...b };
    return { ...ledger.webhook, secret: ledger.webhook.secret ? '***' : '' };
  });
  // Seeding differences for reconciliation tests: change, remove or invent what the system holds.
  app.put<{ Params: { uin: string }; Body: LedgerRecord }>('/_admin/records/:uin', async (request) => {
    const next = ledger.putRecord(request.params.uin, request.body);
    await ledger.saved();
    return next;
  });
  app.delete<{ Params: { uin: string } }>('/_admin/records/:uin', async (request, reply) => {
    ledger.deleteRecord(request.params.uin);
    await ledger.saved();
    return reply.code(204).send();
  });
  app.post<{ Body: { type: string; uin: string; details?: Record<string, string> } }>('/_admin/changes', async (request, reply) => {
    const { type, uin, details } = request.body ?? ({} as { type: string; uin: string });
    if (!ledger.spec.changeTypes.includes(type) || typeof uin !== 'string') {
      return reply.code(400).send({ error: 'Bad Request', message: `type must be one of ${ledger.spec.changeTypes.join(', ')}, with a uin` });
    }
    const change = ledger.announce(type, uin, details ?? {});
    await ledger.saved();
    return change;
  });
}

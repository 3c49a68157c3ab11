import type { Logger } from '@registo/base';
import { type EventStore, isStoreUnavailable } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import { type OutsideWorldHandler, TransientError } from '@registo/messaging';
import type { ExternalSyncPort, SyncSystem } from '@registo/external';
import {
  CommandRejected,
  causedBy,
  type LoadedIdentity,
  type StoredIdentityEvent,
  type SyncCommand,
  type SyncState,
  fold,
  recordMismatchStep,
  recordSyncStep,
  identityFrom,
  identityStreamId,
  loadIdentity,
  mismatchDecider,
  outboundSyncId,
  readStreamOf,
  readStreamWith,
  requestSyncCommand,
  syncDecider,
  syncStreamId,
} from '@registo/producers';
import { type EventEnvelope, type Residency, type TypedEnvelope, expectEventType, isEventType, isRegistoError } from '@registo/schemas';
import { AgreementDataMissing, SYNC_TRIGGERS, type SyncTrigger, agreedFields, buildPayload, needsPersonalData, registerValueTriggers, triggersFor } from './agreement.js';

export interface OutboundSyncDeps {
  store: EventStore;
  sealer: SubjectSealer;
  port: ExternalSyncPort;
  /** Deliveries of one message before it is dead-lettered (the retry policy's steps + 1). */
  maxAttempts: number;
  logger?: Logger;
}

/** A failure that retrying cannot fix: the consumer sends the message straight to the DLQ. */
export class PermanentSyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentSyncError';
  }
}

const ACTOR = (system: SyncSystem) => ({ id: `sync-${system.toLowerCase()}`, role: 'system' });

type SyncJobEvent = Awaited<ReturnType<typeof readSyncJob>>[number];
const readSyncJob = (store: EventStore, syncId: string) => readStreamWith(store, syncStreamId(syncId), syncDecider.accepts, 'sync job');


/** Consumer name: retry topics `registo.sync.<system>.retry.<n>`, DLQ `registo.sync.<system>.dlq`. */
export const syncConsumerName = (system: SyncSystem): string => `sync.${system.toLowerCase()}`;

interface Classified {
  code: string;
  reason: string;
  retryable: boolean;
}

/**
 * Which failures are worth another attempt. Status updates are idempotent by key, so a
 * malformed reply (the system may or may not have applied it) is asked again like an outage;
 * a refusal (4xx), an erased subject or missing data is not.
 */
export function classify(e: unknown): Classified {
  if (e instanceof AgreementDataMissing) return { code: 'SYNC_DATA_MISSING', reason: e.message, retryable: false };
  if (isRegistoError(e, 'SUBJECT_KEY_DESTROYED')) return { code: 'SYNC_SUBJECT_ERASED', reason: 'the subject was erased: its data key is destroyed, nothing can be sent', retryable: false };
  if (isRegistoError(e, 'EXTERNAL_UNAVAILABLE') || isRegistoError(e, 'EXTERNAL_REPLY_INVALID')) return { code: e.code, reason: e.message, retryable: true };
  if (isRegistoError(e)) return { code: e.code, reason: e.message, retryable: false };
  return { code: 'INTERNAL', reason: (e as Error)?.message ?? String(e), retryable: true };
}

/**
 * The outbound sync for one system: turns identity (and credential) events into status
 * updates, per the agreement table. Every attempt is an event on the sync's own stream
 * (`sync-<system>.<eventId>`); the call carries the source event id as its idempotency key,
 * so a redelivery, a retry or a redrive never applies twice at the other side. A
 * `SyncRedriven` event for this system performs its sync again.
 */
export function createOutboundSync(system: SyncSystem, deps: OutboundSyncDeps): OutsideWorldHandler {
  const ctx: OutboundContext = { system, deps };
  return {
    name: syncConsumerName(system),
    categories: ['identity', 'credential', 'sync'],
    async handle(event: EventEnvelope, attempt = 1): Promise<void> {
      try {
        if (event.type === 'SyncRedriven') return await handleRedrive(ctx, expectEventType('SyncRedriven', event), attempt);
        if (event.type === 'ReconciliationResolutionChosen') return await handleSource(ctx, event, event, attempt, false);
        if (event.streamId.startsWith('sync-')) return;
        return await handleSource(ctx, event, event, attempt, false);
      } catch (e) {
        // Two deliveries of one sync raced on its stream: the decider will sort it out on the next attempt.
        if (e instanceof CommandRejected) throw new TransientError(e.message);
        throw e;
      }
    },
  };
}

/** The system one outbound sync serves, and its ports. */
interface OutboundContext {
  system: SyncSystem;
  deps: OutboundSyncDeps;
}

const metadata = (ctx: OutboundContext, cause: EventEnvelope) => causedBy(cause, ACTOR(ctx.system));

/** Decides on the stream as this delivery last saw it (one read less per step); a stale view fails on the revision and is read afresh. */
async function command(ctx: OutboundContext, cmd: SyncCommand, cause: EventEnvelope, history: SyncJobEvent[]): Promise<SyncState> {
  const r = await recordSyncStep(ctx.deps.store, cmd, { metadata: metadata(ctx, cause), history });
  if (r.attempts === 1) history.push(...r.events);
  else history.splice(0, history.length, ...(await readSyncJob(ctx.deps.store, cmd.syncId)));
  return r.state;
}

function residencyOf(identity: StoredIdentityEvent[]): Residency | null {
  for (const e of identity) if (e.type === 'IdentityCreated') return e.data.residency;
  return null;
}

/** The identity record as it stood at the source event (the latest record otherwise); an erased subject throws SUBJECT_KEY_DESTROYED. */
async function demographicsAt(ctx: OutboundContext, identity: StoredIdentityEvent[], source: EventEnvelope) {
  const upTo = source.streamId === identity[0]?.streamId ? identity.filter((e) => e.revision <= source.revision) : identity;
  const then = identityFrom(ctx.deps.sealer, upTo);
  if (!then) return null;
  const opened = await then.openRecord();
  if (opened.erased) throw opened.error;
  return opened.record.demographics;
}

/**
 * The sync job for `key`, read and requested if it is new; null when there is nothing to do:
 * done already, or dead and not brought back by a redrive not yet spent (a stale delivery of
 * its source, or a second delivery of a redrive that has dead-lettered again, does not).
 */
async function openJob(ctx: OutboundContext, trigger: SyncTrigger, source: EventEnvelope, cause: EventEnvelope, redrive: boolean, key: string): Promise<{ syncId: string; history: SyncJobEvent[]; done: boolean } | null> {
  const { system } = ctx;
  const syncId = outboundSyncId(system, key);
  const history = await readSyncJob(ctx.deps.store, syncId);
  const state = fold(syncDecider, history);
  if (state.status === 'SUCCEEDED') return { syncId, history, done: true };
  if (state.status === 'DEAD_LETTERED') {
    const lastDead = history.findLast((e) => e.type === 'SyncDeadLettered')!;
    if (!redrive || cause.streamId !== syncStreamId(syncId) || cause.revision < lastDead.revision) return null;
  }
  if (!state.exists) {
    const fields = agreedFields(system, trigger.operation).map((x) => x.name);
    const job = { syncId, system, direction: 'OUTBOUND' as const, operation: trigger.operation, uin: trigger.uin, fields };
    await command(ctx, requestSyncCommand(job, { key, event: source }), cause, history);
  }
  return { syncId, history, done: false };
}

/** Performs one sync (keyed by the source event, or `key` when one source asks for several); true when it has succeeded. */
async function perform(ctx: OutboundContext, trigger: SyncTrigger, source: EventEnvelope, cause: EventEnvelope, identity: StoredIdentityEvent[], attempt: number, redrive: boolean, key = source.eventId): Promise<boolean> {
  const { system, deps } = ctx;
  const job = await openJob(ctx, trigger, source, cause, redrive, key);
  if (!job) return false;
  if (job.done) return true;
  const { syncId, history } = job;
  const started = performance.now();
  let replayed: boolean;
  try {
    const demographics = needsPersonalData(trigger) ? await demographicsAt(ctx, identity, source) : null;
    const body = buildPayload(trigger, demographics);
    ({ replayed } = await deps.port.sendStatusUpdate(body, { idempotencyKey: key }));
  } catch (e) {
    // Our own database away (unsealing reads it) is not the system's failure: spend no attempt,
    // stop unadvanced; the next delivery sends again under the same idempotency key.
    if (isStoreUnavailable(e)) throw e;
    const c = classify(e);
    deps.logger?.warn({ syncId, system, attempt, code: c.code, retryable: c.retryable }, 'sync attempt failed');
    await command(ctx, { type: 'RecordSyncFailure', syncId, system, code: c.code, reason: c.reason.slice(0, 1000), retryable: c.retryable }, cause, history);
    const last = !c.retryable || attempt >= deps.maxAttempts;
    if (last) await command(ctx, { type: 'DeadLetterSync', syncId, system, code: c.code, reason: c.reason.slice(0, 1000) }, cause, history);
    if (c.retryable && !last) throw new TransientError(`${c.code}: ${c.reason}`);
    throw new PermanentSyncError(c.code, `${c.code}: ${c.reason}`);
  }
  // Outside the catch: a store outage while recording the success must not be recorded as the
  // system's failure (and dead-letter a sync the system applied); the redelivery is replayed.
  await command(ctx, { type: 'RecordSyncSuccess', syncId, system, durationMs: Math.round(performance.now() - started), replayed, outcome: 'APPLIED' }, cause, history);
  return true;
}

async function handleRedrive(ctx: OutboundContext, event: TypedEnvelope<'SyncRedriven'>, attempt: number): Promise<void> {
  if (event.data.system !== ctx.system) return;
  const history = await readStreamWith(ctx.deps.store, event.streamId, syncDecider.accepts, 'sync job');
  const requested = history.flatMap((e) => (e.type === 'SyncRequested' ? [e.data] : []))[0];
  if (!requested?.sourceStreamId || requested.sourceRevision === null) return;
  const [source] = await ctx.deps.store.readStream(requested.sourceStreamId, { fromRevision: requested.sourceRevision, maxCount: 1 });
  if (!source) throw new PermanentSyncError('NOT_FOUND', `the source event of ${event.data.syncId} is gone`);
  await handleSource(ctx, source, event, attempt, true);
}

/**
 * An operator's ACCEPT_REGISTER: the register's current value goes to the system as syncs of
 * their own (keys `<choice eventId>`, `<choice eventId>.1`, ...: retried, dead-lettered and
 * redriven like any other); once every one has succeeded, the mismatch is resolved.
 */
async function handleAcceptRegister(ctx: OutboundContext, choice: TypedEnvelope<'ReconciliationResolutionChosen'>, cause: EventEnvelope, attempt: number, redrive: boolean): Promise<void> {
  const { deps, system } = ctx;
  const { mismatchId, uin, field, by, note } = choice.data;
  const loaded: LoadedIdentity | null = await loadIdentity(deps, uin);
  const status = loaded?.state.status;
  if (!loaded || !status) throw new PermanentSyncError('SYNC_IDENTITY_UNKNOWN', `no identity ${uin} to send for mismatch ${mismatchId}`);
  const identity = loaded.history;
  let kind = 'VALUE_DIFFERS';
  for (const e of await readStreamWith(deps.store, choice.streamId, mismatchDecider.accepts, 'mismatch')) if (e.type === 'ReconciliationMismatchFound') kind = e.data.kind;
  const triggers = registerValueTriggers(system, field, kind, uin, status);
  for (const [i, trigger] of triggers.entries()) {
    // In order: a later step (the status after an update) waits for the one before it.
    if (!(await perform(ctx, trigger, choice, cause, identity, attempt, redrive, i === 0 ? choice.eventId : `${choice.eventId}.${i}`))) return;
  }
  await recordMismatchStep(deps.store, { type: 'CompleteResolution', mismatchId, action: 'ACCEPT_REGISTER', by, note }, { metadata: metadata(ctx, cause) });
}

/** Any event the agreement table may list: its data is read by the table (agreement.ts), by name. */
async function handleSource(ctx: OutboundContext, source: EventEnvelope, cause: EventEnvelope, attempt: number, redrive: boolean): Promise<void> {
  const { deps, system } = ctx;
  if (source.type === 'ReconciliationResolutionChosen') {
    const choice = expectEventType('ReconciliationResolutionChosen', source);
    if (choice.data.system === system && choice.data.action === 'ACCEPT_REGISTER') await handleAcceptRegister(ctx, choice, cause, attempt, redrive);
    return;
  }
  const uin = String(source.data.uin ?? '');
  // Types the mapping table does not list ask for nothing: no need to read the identity.
  if (!uin || !SYNC_TRIGGERS[source.type]) return;
  const identity = source.streamId === identityStreamId(uin) && isEventType('IdentityCreated', source) ? [source] : await readStreamOf(deps.store, 'identity', identityStreamId(uin));
  const residency = residencyOf(identity);
  if (!residency) return;
  for (const trigger of triggersFor({ type: source.type, data: source.data, residency }, system)) {
    await perform(ctx, trigger, source, cause, identity, attempt, redrive);
  }
}

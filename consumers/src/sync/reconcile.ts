import { randomUUID } from 'node:crypto';
import type { Logger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { ExternalSyncPort, SyncSystem } from '@registo/external';
import {
  CommandRejected,
  type IdentityRecord,
  applySystemChangeToIdentity,
  identityStatusAfterPermit,
  recordMismatchStep,
  recordSyncStep,
  loadIdentity,
  mismatchIdOf,
  outboundSyncId,
  requestSyncCommand,
} from '@registo/producers';
import { IDENTITY_REGISTRY_DDL, SYNC_STATUS_DDL, listMismatches } from '@registo/projections';
import type { IdentityStatus } from '@registo/schemas';
import { type SyncTrigger, agreedFields, buildPayload, registerValueTriggers } from './agreement.js';
import { classify } from './outbound.js';
import { type Difference, type RegisterRecord, diffRecords } from './reconcile-rules.js';

export interface ReconcileDeps {
  store: EventStore;
  db: SqlDriver;
  sealer: SubjectSealer;
  port: ExternalSyncPort;
  logger?: Logger;
}

export interface ReconcileOptions {
  runId?: string;
  /** Who runs it (scheduler or operator), recorded in the events. */
  actor?: { id: string; role: string };
  /** Apply the rules that need no operator (default true). */
  resolveByRule?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface ReconcileResult {
  runId: string;
  system: SyncSystem;
  compared: number;
  externalRecords: number;
  differences: Difference[];
  /** ReconciliationMismatchFound appended by this run (differences already open are not found again). */
  recorded: number;
  resolvedByRule: number;
  cleared: number;
  ruleFailures: Array<{ mismatchId: string; reason: string }>;
}

const RESIDENCY: Record<SyncSystem, string> = { SIGA: 'CITIZEN', IMMIGRATION: 'FOREIGNER' };

/** The agreed attributes of an identity as the register holds them, keyed like the export. */
function attributesOf(system: SyncSystem, record: IdentityRecord): Record<string, string | undefined> {
  const d = record.demographics;
  if (system === 'SIGA') return { civilRegistryNumber: d.civilRegistryNumber, givenNames: d.givenNames, surname: d.surname, dateOfBirth: d.dateOfBirth, sex: d.sex };
  return { permitNumber: d.residencePermitNumber };
}

interface Loaded {
  record: RegisterRecord;
  subjectId: string | null;
  demographics: IdentityRecord['demographics'] | null;
}

/**
 * One reconciliation run: the register's identities for the system against its bulk export.
 * Each difference is a `ReconciliationMismatchFound` on its own stream (still-open ones are
 * not recorded twice); a rule resolves what it can (`ReconciliationMismatchResolved`, RULE);
 * open mismatches no longer found are resolved as CLEARED; the rest wait for an operator.
 */
export async function runReconciliation(system: SyncSystem, deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const runId = options.runId ?? randomUUID();
  const actor = options.actor ?? { id: 'reconciliation', role: 'system' };
  const metadata = { correlationId: `reconciliation-${runId}`, actor };
  await deps.db.migrate(IDENTITY_REGISTRY_DDL);
  await deps.db.migrate(SYNC_STATUS_DDL);
  const rows = await deps.db.query<{ uin: string; status: IdentityStatus; erased: boolean }>('SELECT uin, status, erased FROM identity_registry WHERE residency = $1 ORDER BY uin', [RESIDENCY[system]]);
  const external = await deps.port.exportIdentities();
  const total = rows.length + 1;
  const loaded = new Map<string, Loaded>();
  let done = 0;
  for (const row of rows) {
    const identity = await loadIdentity(deps, row.uin);
    // Erased after the read model was written: compared like any erased identity.
    const opened = !row.erased && identity ? await identity.openRecord() : null;
    const record = opened && !opened.erased ? opened.record : null;
    const demographics = record?.demographics ?? null;
    const attributes = record ? attributesOf(system, record) : null;
    loaded.set(row.uin, {
      record: { uin: row.uin, status: row.status, erased: row.erased || attributes === null, attributes },
      subjectId: identity?.subjectId ?? null,
      demographics,
    });
    options.onProgress?.(++done, total);
  }
  const differences = diffRecords(system, [...loaded.values()].map((l) => l.record), external);

  let recorded = 0;
  let resolvedByRule = 0;
  const ruleFailures: ReconcileResult['ruleFailures'] = [];
  const found = new Set<string>();
  for (const d of differences) {
    const mismatchId = mismatchIdOf(system, d.uin, d.field);
    found.add(mismatchId);
    const subject = loaded.get(d.uin)?.subjectId ?? null;
    // Personal values never travel in clear: they are sealed under the identity's own subject.
    const sealed = d.personal && subject ? await deps.sealer.seal(subject, { registerValue: d.registerValue, externalValue: d.externalValue }) : null;
    const r = await recordMismatchStep(deps.store, {
      type: 'RecordMismatch',
      mismatchId,
      runId,
      system,
      uin: d.uin,
      field: d.field,
      kind: d.kind,
      registerValue: d.personal ? null : d.registerValue,
      externalValue: d.personal ? null : d.externalValue,
      sealed,
      proposedRule: d.rule,
    }, { metadata });
    recorded += r.events.length;
    if (d.rule && options.resolveByRule !== false && r.state.open) {
      try {
        const action = await applyRule(system, d, loaded.get(d.uin) ?? null, deps, runId, metadata);
        await resolve(deps.store, { mismatchId, system, resolution: 'RULE', rule: d.rule, action, by: actor.id, note: `run ${runId}` }, metadata);
        resolvedByRule++;
      } catch (e) {
        // The rule could not be applied now (the system is down): the mismatch stays open for the next run.
        ruleFailures.push({ mismatchId, reason: (e as Error).message });
        deps.logger?.warn({ mismatchId, err: (e as Error).message }, 'reconciliation rule not applied');
      }
    }
  }

  let cleared = 0;
  for (const open of await listMismatches(deps.db, { system, status: 'OPEN' })) {
    if (found.has(open.mismatchId)) continue;
    if (await resolve(deps.store, { mismatchId: open.mismatchId, system, resolution: 'CLEARED', rule: null, action: 'NONE', by: actor.id, note: `not found by run ${runId}` }, metadata)) cleared++;
  }
  options.onProgress?.(total, total);
  return { runId, system, compared: rows.length, externalRecords: external.length, differences, recorded, resolvedByRule, cleared, ruleFailures };
}

async function resolve(
  store: EventStore,
  data: { mismatchId: string; system: SyncSystem; resolution: 'RULE' | 'OPERATOR' | 'CLEARED'; rule: string | null; action: string; by: string; note: string },
  metadata: { correlationId: string; actor: { id: string; role: string } },
): Promise<boolean> {
  try {
    const r = await recordMismatchStep(store, { type: 'ResolveMismatch', ...data }, { metadata });
    return r.events.length > 0;
  } catch (e) {
    // Resolved meanwhile (the read model was behind): nothing to do.
    if (e instanceof CommandRejected && e.reason === 'MISMATCH_NOT_OPEN') return false;
    throw e;
  }
}

async function applyRule(
  system: SyncSystem,
  d: Difference,
  loaded: Loaded | null,
  deps: ReconcileDeps,
  runId: string,
  metadata: { correlationId: string; actor: { id: string; role: string } },
): Promise<string> {
  switch (d.rule) {
    case 'siga-authoritative-civil-status':
      await changeStatus(deps.store, d.uin, 'DECEASED', 'SIGA', `reconciliation ${runId}: SIGA records a death`, metadata);
      return 'STATUS_CHANGED';
    case 'immigration-authoritative-permit':
      await changeStatus(deps.store, d.uin, identityStatusAfterPermit(d.externalValue === 'EXPIRED' ? 'EXPIRED' : 'REVOKED'), 'IMMIGRATION', `reconciliation ${runId}: permit ${String(d.externalValue).toLowerCase()}`, metadata);
      return 'STATUS_CHANGED';
    case 'register-authoritative-status':
    case 'register-authoritative-presence': {
      if (!loaded) throw new Error(`no register record for ${d.uin}`);
      const ops = registerValueTriggers(system, d.field, d.kind, d.uin, loaded.record.status);
      for (const [i, trigger] of ops.entries()) await resync(trigger, loaded, deps, `${runId}.${d.field}.${i}`, metadata);
      return 'RESYNC';
    }
    default:
      throw new Error(`no rule ${String(d.rule)}`);
  }
}

async function changeStatus(store: EventStore, uin: string, to: IdentityStatus, source: string, reason: string, metadata: { correlationId: string; actor: { id: string; role: string } }): Promise<void> {
  await applySystemChangeToIdentity(store, { type: 'ChangeIdentityStatus', uin, to, reason, source }, { metadata });
}

/** Sends the register's current state again, as a sync of its own (`sync-<system>.recon.<run>.<uin>...`). */
async function resync(trigger: SyncTrigger, loaded: Loaded, deps: ReconcileDeps, suffix: string, metadata: { correlationId: string; actor: { id: string; role: string } }): Promise<void> {
  const system = trigger.system;
  const key = `recon.${suffix}.${trigger.uin}`;
  const syncId = outboundSyncId(system, key);
  const job = { syncId, system, direction: 'OUTBOUND' as const, operation: trigger.operation, uin: trigger.uin, fields: agreedFields(system, trigger.operation).map((x) => x.name) };
  await recordSyncStep(deps.store, requestSyncCommand(job, { key, sourceType: 'Reconciliation' }), { metadata });
  const started = performance.now();
  try {
    const result = await deps.port.sendStatusUpdate(buildPayload(trigger, loaded.demographics), { idempotencyKey: key });
    await recordSyncStep(deps.store, { type: 'RecordSyncSuccess', syncId, system, durationMs: Math.round(performance.now() - started), replayed: result.replayed, outcome: 'APPLIED' }, { metadata });
  } catch (e) {
    // Recorded as the outbound sync records it (SYNC_DATA_MISSING, a refusal not retryable, ...).
    const c = classify(e);
    await recordSyncStep(deps.store, { type: 'RecordSyncFailure', syncId, system, code: c.code, reason: c.reason.slice(0, 1000), retryable: c.retryable }, { metadata });
    throw e;
  }
}

import type { ExternalSystem, SyncEventData } from '@registo/schemas';
import { type Decider, type DeciderEvent, reject } from '../decider.js';

/**
 * Two kinds of stream share the `sync` category (DESIGN §3):
 * - a sync job, `sync-<system>.<sourceEventId>` (outbound) or `sync-<system>.in.<changeId>`
 *   (inbound): every attempt to carry one fact to or from one external system;
 * - a reconciliation mismatch, `sync-mismatch.<system>.<uin>.<field>`: one field of one
 *   identity on which the register and the system disagree, open until resolved.
 */

export type SyncStatus = 'PENDING' | 'FAILED' | 'SUCCEEDED' | 'DEAD_LETTERED';

export interface SyncState {
  exists: boolean;
  syncId: string | null;
  system: ExternalSystem | null;
  status: SyncStatus | null;
  /** Attempts over the sync's whole life (redrives included). */
  attempts: number;
  redriveIds: string[];
  lastCode: string | null;
}

type SyncJobEvents = Pick<SyncEventData, 'SyncRequested' | 'SyncSucceeded' | 'SyncFailed' | 'SyncDeadLettered' | 'SyncRedriven'>;
export type SyncEvent = DeciderEvent<SyncJobEvents>;

export type SyncCommand =
  | ({ type: 'RequestSync' } & SyncEventData['SyncRequested'])
  | { type: 'RecordSyncSuccess'; syncId: string; system: ExternalSystem; durationMs: number; replayed: boolean; outcome: string }
  | { type: 'RecordSyncFailure'; syncId: string; system: ExternalSystem; code: string; reason: string; retryable: boolean }
  | { type: 'DeadLetterSync'; syncId: string; system: ExternalSystem; code: string; reason: string }
  | ({ type: 'RedriveSync' } & SyncEventData['SyncRedriven']);

export function initialSyncState(): SyncState {
  return { exists: false, syncId: null, system: null, status: null, attempts: 0, redriveIds: [], lastCode: null };
}

function requireSync(state: SyncState, command: SyncCommand): void {
  if (!state.exists) reject('SYNC_NOT_FOUND', `${command.type}: no sync ${command.syncId}`);
}

export function decideSync(command: SyncCommand, state: SyncState): SyncEvent[] {
  switch (command.type) {
    case 'RequestSync': {
      // A redelivered source event asks again for the sync it already asked for.
      if (state.exists) return [];
      const { type: _t, ...data } = command;
      return [{ type: 'SyncRequested', data }];
    }
    case 'RecordSyncSuccess': {
      requireSync(state, command);
      if (state.status === 'SUCCEEDED') return [];
      // A success after a dead letter is still a fact (a duplicate delivery got through): it ends the sync.
      const { syncId, system, durationMs, replayed, outcome } = command;
      return [{ type: 'SyncSucceeded', data: { syncId, system, attempt: state.attempts + 1, durationMs, replayed, outcome } }];
    }
    case 'RecordSyncFailure': {
      requireSync(state, command);
      // A late failure of a duplicate delivery changes nothing about a sync that is done.
      if (state.status === 'SUCCEEDED') return [];
      const { syncId, system, code, reason, retryable } = command;
      return [{ type: 'SyncFailed', data: { syncId, system, attempt: state.attempts + 1, code, reason, retryable } }];
    }
    case 'DeadLetterSync': {
      requireSync(state, command);
      if (state.status === 'SUCCEEDED' || state.status === 'DEAD_LETTERED') return [];
      const { syncId, system, code, reason } = command;
      return [{ type: 'SyncDeadLettered', data: { syncId, system, attempts: state.attempts, code, reason } }];
    }
    case 'RedriveSync': {
      requireSync(state, command);
      if (state.redriveIds.includes(command.redriveId)) return [];
      if (state.status !== 'DEAD_LETTERED') {
        reject('SYNC_NOT_DEAD_LETTERED', `sync ${command.syncId} is ${state.status}; only a dead-lettered sync can be redriven`, { status: state.status });
      }
      const { type: _t, ...data } = command;
      return [{ type: 'SyncRedriven', data }];
    }
  }
}

export function evolveSync(state: SyncState, event: SyncEvent): SyncState {
  switch (event.type) {
    case 'SyncRequested':
      return { ...state, exists: true, syncId: event.data.syncId, system: event.data.system, status: 'PENDING' };
    case 'SyncSucceeded':
      return { ...state, status: 'SUCCEEDED', attempts: state.attempts + 1, lastCode: null };
    case 'SyncFailed':
      return { ...state, status: 'FAILED', attempts: state.attempts + 1, lastCode: event.data.code };
    case 'SyncDeadLettered':
      return { ...state, status: 'DEAD_LETTERED', lastCode: event.data.code };
    case 'SyncRedriven':
      return { ...state, status: 'PENDING', redriveIds: [...state.redriveIds, event.data.redriveId] };
  }
}

export const syncDecider: Decider<SyncCommand, SyncState, SyncJobEvents> = {
  initialState: initialSyncState,
  decide: decideSync,
  evolve: evolveSync,
};

/** `siga.<eventId>`: one sync job per external system and source event. */
export const outboundSyncId = (system: ExternalSystem, sourceEventId: string): string => `${system.toLowerCase()}.${sourceEventId}`;
/** `siga.in.<changeId>`: one inbound sync per change the external system announced. */
export const inboundSyncId = (system: ExternalSystem, changeId: string): string => `${system.toLowerCase()}.in.${changeId}`;
export const syncStreamId = (syncId: string): string => `sync-${syncId}`;

// --- reconciliation mismatches -------------------------------------------------------------

type MismatchEvents = Pick<SyncEventData, 'ReconciliationMismatchFound' | 'ReconciliationMismatchResolved'>;
export type MismatchEvent = DeciderEvent<MismatchEvents>;

export interface MismatchState {
  exists: boolean;
  open: boolean;
  /** How many times the difference was found (reopened after a resolution counts again). */
  found: number;
  lastRunId: string | null;
}

export type MismatchCommand =
  | ({ type: 'RecordMismatch' } & SyncEventData['ReconciliationMismatchFound'])
  | ({ type: 'ResolveMismatch' } & SyncEventData['ReconciliationMismatchResolved']);

export function initialMismatchState(): MismatchState {
  return { exists: false, open: false, found: 0, lastRunId: null };
}

export function decideMismatch(command: MismatchCommand, state: MismatchState): MismatchEvent[] {
  switch (command.type) {
    case 'RecordMismatch': {
      // Still open from an earlier run: it is the same difference, not a new one.
      if (state.open) return [];
      const { type: _t, ...data } = command;
      return [{ type: 'ReconciliationMismatchFound', data }];
    }
    case 'ResolveMismatch': {
      if (!state.exists) reject('MISMATCH_NOT_FOUND', `no mismatch ${command.mismatchId}`);
      if (!state.open) reject('MISMATCH_NOT_OPEN', `mismatch ${command.mismatchId} is already resolved`);
      const { type: _t, ...data } = command;
      return [{ type: 'ReconciliationMismatchResolved', data }];
    }
  }
}

export function evolveMismatch(state: MismatchState, event: MismatchEvent): MismatchState {
  switch (event.type) {
    case 'ReconciliationMismatchFound':
      return { exists: true, open: true, found: state.found + 1, lastRunId: event.data.runId };
    case 'ReconciliationMismatchResolved':
      return { ...state, open: false };
  }
}

export const mismatchDecider: Decider<MismatchCommand, MismatchState, MismatchEvents> = {
  initialState: initialMismatchState,
  decide: decideMismatch,
  evolve: evolveMismatch,
};

/** `siga.<uin>.<field>`: one mismatch per system, identity and field. */
export const mismatchIdOf = (system: ExternalSystem, uin: string, field: string): string => `${system.toLowerCase()}.${uin}.${field}`;
export const mismatchStreamId = (mismatchId: string): string => `sync-mismatch.${mismatchId}`;

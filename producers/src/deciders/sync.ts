import { type EventEnvelope, type EventOf, type ExternalSystem, type MismatchKind, type SyncEventData, isEventOf } from '@registo/schemas';
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

export type SyncJobEvents = Pick<SyncEventData, 'SyncRequested' | 'SyncSucceeded' | 'SyncFailed' | 'SyncDeadLettered' | 'SyncRedriven'>;
export type SyncEvent = DeciderEvent<SyncJobEvents>;

// Every key of the map, no other: the compiler checks the list against the type.
const SYNC_JOB_TYPES: Readonly<Record<keyof SyncJobEvents, true>> = { SyncRequested: true, SyncSucceeded: true, SyncFailed: true, SyncDeadLettered: true, SyncRedriven: true };

/** A sync job's event (the `sync` category holds the mismatches' events too). */
export function isSyncJobEvent(e: EventEnvelope): e is EventEnvelope & EventOf<SyncJobEvents> {
  return isEventOf('sync', e) && Object.hasOwn(SYNC_JOB_TYPES, e.type);
}

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
  accepts: isSyncJobEvent,
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

export type MismatchEvents = Pick<SyncEventData, 'ReconciliationMismatchFound' | 'ReconciliationResolutionChosen' | 'ReconciliationMismatchResolved'>;
export type MismatchEvent = DeciderEvent<MismatchEvents>;

const MISMATCH_TYPES: Readonly<Record<keyof MismatchEvents, true>> = { ReconciliationMismatchFound: true, ReconciliationResolutionChosen: true, ReconciliationMismatchResolved: true };

/** A reconciliation mismatch's event. */
export function isMismatchEvent(e: EventEnvelope): e is EventEnvelope & EventOf<MismatchEvents> {
  return isEventOf('sync', e) && Object.hasOwn(MISMATCH_TYPES, e.type);
}

/**
 * What an operator may do with an open mismatch, each named for what it does:
 * - ACCEPT_REGISTER: the register's value is sent to the system (a sync of its own, with the
 *   usual attempts, retries and dead letters); resolved when that sync succeeds;
 * - ACCEPT_EXTERNAL: the register takes the system's value (an identity update, the officer as
 *   actor); resolved once the identity is updated; the system is not told again;
 * - CLOSE_WITHOUT_CHANGE: closed as it is, neither side changes; a later run that still finds
 *   the difference opens it again. `NONE`, its name before, is read as it.
 */
export type ResolutionAction = 'ACCEPT_REGISTER' | 'ACCEPT_EXTERNAL' | 'CLOSE_WITHOUT_CHANGE';
export const RESOLUTION_ACTIONS: readonly ResolutionAction[] = ['ACCEPT_REGISTER', 'ACCEPT_EXTERNAL', 'CLOSE_WITHOUT_CHANGE'];
/** The operator's action as it was named before CLOSE_WITHOUT_CHANGE (still accepted, recorded under the new name). */
export const LEGACY_CLOSE_ACTION = 'NONE';

/**
 * The attributes the register takes from a system through an ordinary identity update. The
 * civil-registry and permit numbers are who the person is (their blind index, the identity
 * rules' officer approval): they change through a correction in intake, not from here.
 */
export const EXTERNAL_VALUE_FIELDS: Partial<Record<ExternalSystem, readonly string[]>> = {
  SIGA: ['givenNames', 'surname', 'dateOfBirth', 'sex'],
  IMMIGRATION: [],
};

/** The regId of the identity update an ACCEPT_EXTERNAL makes: one per finding of the mismatch, so a retried request is the same update. */
export const ACCEPTED_EXTERNAL_REG_PREFIX = 'reconciliation.accept-external.';
export const acceptedExternalRegId = (mismatchId: string, found: number): string => `${ACCEPTED_EXTERNAL_REG_PREFIX}${mismatchId}.${found}`;

export interface MismatchState {
  exists: boolean;
  open: boolean;
  /** How many times the difference was found (reopened after a resolution counts again). */
  found: number;
  lastRunId: string | null;
  system: ExternalSystem | null;
  uin: string | null;
  field: string | null;
  kind: MismatchKind | null;
  /** The operator's choice waiting for its side to hold the value; null when none. */
  pendingAction: ResolutionAction | null;
}

export type MismatchCommand =
  | ({ type: 'RecordMismatch' } & SyncEventData['ReconciliationMismatchFound'])
  /** A rule's or a later run's resolution (RULE, CLEARED): the change, if any, is already made. */
  | ({ type: 'ResolveMismatch' } & SyncEventData['ReconciliationMismatchResolved'])
  /** An operator's resolution: what happens depends on the action (see ResolutionAction). */
  | { type: 'ChooseResolution'; mismatchId: string; action: ResolutionAction | typeof LEGACY_CLOSE_ACTION; by: string; note: string }
  /** The side the pending action names now holds the chosen value (the sync succeeded, the identity was updated). */
  | { type: 'CompleteResolution'; mismatchId: string; action: ResolutionAction; by: string; note: string };

export function initialMismatchState(): MismatchState {
  return { exists: false, open: false, found: 0, lastRunId: null, system: null, uin: null, field: null, kind: null, pendingAction: null };
}

/** Why an action cannot resolve this mismatch, or null when it can. */
function actionRefusal(action: ResolutionAction, state: MismatchState): string | null {
  if (action === 'CLOSE_WITHOUT_CHANGE') return null;
  if (state.kind === 'MISSING_IN_REGISTER') return `${state.system} holds a record the register does not have: there is no register value to send and no identity to update`;
  if (action === 'ACCEPT_EXTERNAL') {
    const takes = EXTERNAL_VALUE_FIELDS[state.system!] ?? [];
    if (state.kind !== 'VALUE_DIFFERS' || !takes.includes(state.field!)) {
      return `the register does not take ${state.field} from ${state.system}: ${takes.length ? `only ${takes.join(', ')}` : 'no attribute'} (numbers and statuses change through the register's own procedures)`;
    }
  }
  return null;
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
      // An operator's resolution says what it does and waits for it to be done: ChooseResolution.
      if (command.resolution === 'OPERATOR') reject('MISMATCH_ACTION_NOT_ALLOWED', `mismatch ${command.mismatchId}: an operator resolves through ChooseResolution`);
      const { type: _t, ...data } = command;
      return [{ type: 'ReconciliationMismatchResolved', data }];
    }
    case 'ChooseResolution': {
      if (!state.exists) reject('MISMATCH_NOT_FOUND', `no mismatch ${command.mismatchId}`);
      if (!state.open) reject('MISMATCH_NOT_OPEN', `mismatch ${command.mismatchId} is already resolved`);
      const action: ResolutionAction = command.action === LEGACY_CLOSE_ACTION ? 'CLOSE_WITHOUT_CHANGE' : command.action;
      const refusal = actionRefusal(action, state);
      if (refusal) reject('MISMATCH_ACTION_NOT_ALLOWED', `${action} cannot resolve mismatch ${command.mismatchId}: ${refusal}`, { action, kind: state.kind, field: state.field });
      const { mismatchId, by, note } = command;
      const system = state.system!;
      if (action === 'CLOSE_WITHOUT_CHANGE') {
        // Closing also withdraws a choice still waiting (a sync dead-lettered, an update refused).
        return [{ type: 'ReconciliationMismatchResolved', data: { mismatchId, system, resolution: 'OPERATOR', rule: null, action, by, note } }];
      }
      // The same choice again (a retried request) is the same choice; the other one waits for it.
      if (state.pendingAction === action) return [];
      if (state.pendingAction !== null) {
        reject('MISMATCH_RESOLUTION_PENDING', `mismatch ${mismatchId} waits for ${state.pendingAction}; close it without change first to choose otherwise`, { pendingAction: state.pendingAction });
      }
      return [{ type: 'ReconciliationResolutionChosen', data: { mismatchId, system, uin: state.uin!, field: state.field!, action, by, note } }];
    }
    case 'CompleteResolution': {
      if (!state.exists) reject('MISMATCH_NOT_FOUND', `no mismatch ${command.mismatchId}`);
      // Already resolved (cleared by a run that found the value in place, a repeated completion): nothing left to do.
      if (!state.open || state.pendingAction !== command.action) return [];
      const { mismatchId, action, by, note } = command;
      return [{ type: 'ReconciliationMismatchResolved', data: { mismatchId, system: state.system!, resolution: 'OPERATOR', rule: null, action, by, note } }];
    }
  }
}

export function evolveMismatch(state: MismatchState, event: MismatchEvent): MismatchState {
  switch (event.type) {
    case 'ReconciliationMismatchFound': {
      const { runId, system, uin, field, kind } = event.data;
      return { exists: true, open: true, found: state.found + 1, lastRunId: runId, system, uin, field, kind, pendingAction: null };
    }
    case 'ReconciliationResolutionChosen':
      // The schema keeps the action a string; a choice only ever records one of the actions.
      return { ...state, pendingAction: RESOLUTION_ACTIONS.find((a) => a === event.data.action) ?? null };
    case 'ReconciliationMismatchResolved':
      return { ...state, open: false, pendingAction: null };
  }
}

export const mismatchDecider: Decider<MismatchCommand, MismatchState, MismatchEvents> = {
  accepts: isMismatchEvent,
  initialState: initialMismatchState,
  decide: decideMismatch,
  evolve: evolveMismatch,
};

/** `siga.<uin>.<field>`: one mismatch per system, identity and field. */
export const mismatchIdOf = (system: ExternalSystem, uin: string, field: string): string => `${system.toLowerCase()}.${uin}.${field}`;
export const mismatchStreamId = (mismatchId: string): string => `sync-mismatch.${mismatchId}`;

import type { ExternalSystem, SealedData } from './common.js';

// Hand-kept mirrors of schemas/avro/sync (checked against them by schemas/test/catalog.test.ts).
export type SyncDirection = 'OUTBOUND' | 'INBOUND';
export const SYNC_DIRECTIONS: readonly SyncDirection[] = ['OUTBOUND', 'INBOUND'];
export type MismatchKind = 'VALUE_DIFFERS' | 'MISSING_IN_EXTERNAL' | 'MISSING_IN_REGISTER';
export const MISMATCH_KINDS: readonly MismatchKind[] = ['VALUE_DIFFERS', 'MISSING_IN_EXTERNAL', 'MISSING_IN_REGISTER'];
export type MismatchResolution = 'RULE' | 'OPERATOR' | 'CLEARED';
export const MISMATCH_RESOLUTIONS: readonly MismatchResolution[] = ['RULE', 'OPERATOR', 'CLEARED'];

export interface SyncEventData {
  SyncRequested: {
    syncId: string;
    system: ExternalSystem;
    direction: SyncDirection;
    operation: string;
    uin: string | null;
    sourceEventId: string;
    sourceStreamId: string | null;
    sourceRevision: number | null;
    sourceType: string;
    fields: string[];
  };
  SyncSucceeded: { syncId: string; system: ExternalSystem; attempt: number; durationMs: number; replayed: boolean; outcome: string };
  SyncFailed: { syncId: string; system: ExternalSystem; attempt: number; code: string; reason: string; retryable: boolean };
  SyncDeadLettered: { syncId: string; system: ExternalSystem; attempts: number; code: string; reason: string };
  SyncRedriven: { syncId: string; system: ExternalSystem; redriveId: string; by: string };
  ReconciliationMismatchFound: {
    mismatchId: string;
    runId: string;
    system: ExternalSystem;
    uin: string;
    field: string;
    kind: MismatchKind;
    registerValue: string | null;
    externalValue: string | null;
    sealed: SealedData | null;
    proposedRule: string | null;
  };
  ReconciliationResolutionChosen: { mismatchId: string; system: ExternalSystem; uin: string; field: string; action: string; by: string; note: string };
  ReconciliationMismatchResolved: {
    mismatchId: string;
    system: ExternalSystem;
    resolution: MismatchResolution;
    rule: string | null;
    action: string;
    by: string;
    note: string;
  };
}

export type SyncEventType = keyof SyncEventData;

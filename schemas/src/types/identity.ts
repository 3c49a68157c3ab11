import type { Residency, SealedData } from './common.js';

// Hand-kept mirrors of schemas/avro/identity (checked against them by schemas/test/types.test.ts).
export type IdentityStatus = 'ACTIVE' | 'DEACTIVATED' | 'BLOCKED' | 'DECEASED';
export const IDENTITY_STATUSES: readonly IdentityStatus[] = ['ACTIVE', 'DEACTIVATED', 'BLOCKED', 'DECEASED'];

export interface IdentityEventData {
  IdentityCreated: { uin: string; regId: string; residency: Residency; sealed: SealedData; civilRegistryIndex?: string | null; permitIndex?: string | null };
  IdentityUpdated: { uin: string; regId: string; changedFields: string[]; sealed: SealedData; civilRegistryIndex?: string | null; permitIndex?: string | null };
  IdentityStatusChanged: { uin: string; from: IdentityStatus; to: IdentityStatus; reason: string; source: string };
  SubjectKeyDestroyed: { uin: string; subjectId: string; legalBasis: string; orderRef: string | null };
}

export type IdentityEventType = keyof IdentityEventData;

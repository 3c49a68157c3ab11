import { type EventEnvelope, type IdentityStatus, expectEventOf } from '@registo/schemas';

/** One identity as the register shows it: never personal data, only what can be searched and shown. */
export interface IdentityRow {
  uin: string;
  status: IdentityStatus;
  residency: string;
  regIds: string[];
  civilRegistryIndex: string | null;
  /** The subject key was destroyed: sealed data of this identity can no longer be opened. */
  erased: boolean;
  revision: number;
  lastPosition: number;
  createdAt: string;
  updatedAt: string;
}

export type IdentityReduceOutcome = { kind: 'apply'; row: IdentityRow } | { kind: 'skip' } | { kind: 'gap'; expectedRevision: number };


/** Pure: the row after `event`, or why the event does not apply (same revision guard as enrollment_status). */
export function reduceIdentity(row: IdentityRow | undefined, event: EventEnvelope): IdentityReduceOutcome {
  const expected = (row?.revision ?? -1) + 1;
  if (event.revision < expected) return { kind: 'skip' };
  if (event.revision > expected) return { kind: 'gap', expectedRevision: expected };
  const e = expectEventOf('identity', event);
  const at = e.metadata.recordedAt;
  const touched = (r: IdentityRow): IdentityRow => ({ ...r, revision: e.revision, lastPosition: e.position, updatedAt: at });
  switch (e.type) {
    case 'IdentityCreated':
      return {
        kind: 'apply',
        row: {
          uin: e.data.uin,
          status: 'ACTIVE',
          residency: e.data.residency,
          regIds: [e.data.regId],
          civilRegistryIndex: e.data.civilRegistryIndex ?? null,
          erased: false,
          revision: e.revision,
          lastPosition: e.position,
          createdAt: at,
          updatedAt: at,
        },
      };
    case 'IdentityUpdated':
      // The blind index follows the number: search by the new one finds the identity, by the old one not.
      return {
        kind: 'apply',
        row: touched({ ...row!, regIds: [...row!.regIds, e.data.regId], civilRegistryIndex: e.data.civilRegistryIndex ?? row!.civilRegistryIndex }),
      };
    case 'IdentityStatusChanged':
      return { kind: 'apply', row: touched({ ...row!, status: e.data.to }) };
    case 'SubjectKeyDestroyed':
      return { kind: 'apply', row: touched({ ...row!, erased: true }) };
  }
}

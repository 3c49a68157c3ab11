import type { IdentityStatus, MismatchKind } from '@registo/schemas';
import type { ExternalRecord, SyncSystem } from '@registo/external';
import { SIGA_EXPECTED_STATUS } from './agreement.js';

/**
 * Reconciliation rules, pure: what the register and a system's bulk export must agree on,
 * and who is right when they do not. Values are compared after normalising case, accents
 * and spacing (as the systems themselves compare names).
 */

export interface RegisterRecord {
  uin: string;
  status: IdentityStatus;
  erased: boolean;
  /** The agreed attributes as the register holds them (opened from `sealed`); null when erased. */
  attributes: Record<string, string | undefined> | null;
}

export interface Difference {
  uin: string;
  field: string;
  kind: MismatchKind;
  registerValue: string | null;
  externalValue: string | null;
  /** The values are personal data: they are sealed, never in clear in the event. */
  personal: boolean;
  /** The rule that resolves it without an operator, or null. */
  rule: ReconciliationRule | null;
}

export type ReconciliationRule =
  /** The register decides an identity's status; the system is sent it again. */
  | 'register-authoritative-status'
  /** The system lost (or never got) the identity; it is sent again. */
  | 'register-authoritative-presence'
  /** SIGA records a death the register does not know: the identity becomes DECEASED (source SIGA). */
  | 'siga-authoritative-civil-status'
  /** Immigration holds the permit expired or revoked: the identity is deactivated or blocked (source IMMIGRATION). */
  | 'immigration-authoritative-permit';

export interface CompareSpec {
  /** Personal attributes compared value by value; a difference goes to an operator. */
  personal: readonly string[];
}

export const COMPARED: Record<SyncSystem, CompareSpec> = {
  SIGA: { personal: ['civilRegistryNumber', 'givenNames', 'surname', 'dateOfBirth', 'sex'] },
  IMMIGRATION: { personal: ['permitNumber'] },
};

export function normalise(value: string | null | undefined): string {
  return (value ?? '').normalize('NFD').replace(/\p{M}/gu, '').trim().replace(/\s+/g, ' ').toLowerCase();
}

function compareSiga(r: RegisterRecord, x: ExternalRecord, out: Difference[]): void {
  const expected = SIGA_EXPECTED_STATUS[r.status];
  if (x.identityStatus !== expected) {
    out.push({ uin: r.uin, field: 'identityStatus', kind: 'VALUE_DIFFERS', registerValue: expected, externalValue: x.identityStatus ?? null, personal: false, rule: 'register-authoritative-status' });
  }
  const siaDead = x.civilStatus === 'DECEASED';
  if (siaDead !== (r.status === 'DECEASED')) {
    out.push({
      uin: r.uin,
      field: 'civilStatus',
      kind: 'VALUE_DIFFERS',
      registerValue: r.status,
      externalValue: x.civilStatus ?? null,
      personal: false,
      // SIGA is the authority on deaths; a register that says dead while SIGA says alive needs a person to look.
      rule: siaDead ? 'siga-authoritative-civil-status' : null,
    });
  }
}

function compareImmigration(r: RegisterRecord, x: ExternalRecord, out: Difference[]): void {
  const permit = x.permitStatus;
  if ((permit === 'EXPIRED' || permit === 'REVOKED') && r.status === 'ACTIVE') {
    out.push({ uin: r.uin, field: 'permitStatus', kind: 'VALUE_DIFFERS', registerValue: r.status, externalValue: permit, personal: false, rule: 'immigration-authoritative-permit' });
  }
}

/**
 * Every difference between the register's records for a system and the system's export.
 * An erased identity is compared on presence and status only: its attributes cannot be opened.
 */
export function diffRecords(system: SyncSystem, register: readonly RegisterRecord[], external: readonly ExternalRecord[]): Difference[] {
  const out: Difference[] = [];
  const theirs = new Map(external.map((x) => [String(x.uin), x]));
  const ours = new Set(register.map((r) => r.uin));
  for (const r of register) {
    const x = theirs.get(r.uin);
    if (!x) {
      out.push({ uin: r.uin, field: 'record', kind: 'MISSING_IN_EXTERNAL', registerValue: 'PRESENT', externalValue: null, personal: false, rule: 'register-authoritative-presence' });
      continue;
    }
    if (system === 'SIGA') compareSiga(r, x, out);
    else compareImmigration(r, x, out);
    if (!r.attributes) continue;
    for (const field of COMPARED[system].personal) {
      const mine = r.attributes[field];
      if (normalise(mine) !== normalise(x[field])) {
        out.push({ uin: r.uin, field, kind: 'VALUE_DIFFERS', registerValue: mine ?? null, externalValue: x[field] ?? null, personal: true, rule: null });
      }
    }
  }
  for (const x of external) {
    if (!ours.has(String(x.uin))) out.push({ uin: String(x.uin), field: 'record', kind: 'MISSING_IN_REGISTER', registerValue: null, externalValue: 'PRESENT', personal: false, rule: null });
  }
  return out;
}

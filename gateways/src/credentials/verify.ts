import type { SignerMode } from '@registo/hsm';
import {
  type VcProblem,
  type VcTrustAnchors,
  credentialFromInput,
  parseStatusListPublicId,
  verifyVcJwt,
} from '@registo/credentials';
import type { StatusLists } from './status-lists.js';

export type VerifiedStatus = 'ACTIVE' | 'SUSPENDED' | 'REVOKED' | 'UNKNOWN';

export interface VerificationAnswer {
  valid: boolean;
  /** Why not, each with a stable code: ISSUER_UNTRUSTED, SIGNATURE_INVALID, TYPE_UNSUPPORTED, NOT_YET_VALID, EXPIRED, REVOKED, SUSPENDED, STATUS_UNAVAILABLE. */
  reasons: VcProblem[];
  /** From the status lists, as of now. */
  status: VerifiedStatus;
  /** How the platform answering holds its keys. */
  signerMode: SignerMode;
  /** What the credential says of its own signing key (only when its signature holds). */
  credentialSignerMode: string | null;
  credentialId: string | null;
  credentialType: string | null;
  issuer: unknown;
  validFrom: string | null;
  validUntil: string | null;
  /** The attributes the credential states (only when its signature holds). */
  credentialSubject: Record<string, unknown> | null;
  checkedAt: string;
}

interface StatusEntry {
  statusPurpose?: unknown;
  statusListIndex?: unknown;
  statusListCredential?: unknown;
}

/**
 * Public verification of a VC (compact JWT or RGV1 QR payload): signature and chain to the
 * identity CA, validity period, and the current status read from the Bitstring Status Lists the
 * credential points to. Input that is not a credential at all throws a typed 400
 * (CREDENTIAL_MALFORMED, CREDENTIAL_QR_INVALID); anything else is answered.
 */
export async function verifyCredential(
  input: string,
  deps: { anchors: VcTrustAnchors; lists: StatusLists; publicUrl: string; mode: SignerMode; now?: Date },
): Promise<VerificationAnswer> {
  const now = deps.now ?? new Date();
  const jwt = credentialFromInput(input);
  const v = await verifyVcJwt(jwt, deps.anchors, now);
  const p = v.payload;
  const reasons = [...v.problems];
  let status: VerifiedStatus = 'UNKNOWN';
  if (v.signatureValid) {
    const entries = (Array.isArray(p.credentialStatus) ? p.credentialStatus : p.credentialStatus ? [p.credentialStatus] : []) as StatusEntry[];
    const prefix = `${deps.publicUrl.replace(/\/$/, '')}/v1/status-lists/`;
    const bits: Partial<Record<'revocation' | 'suspension', boolean>> = {};
    for (const entry of entries) {
      const url = typeof entry.statusListCredential === 'string' ? entry.statusListCredential : '';
      const parsed = url.startsWith(prefix) ? parseStatusListPublicId(url.slice(prefix.length)) : null;
      const index = Number(entry.statusListIndex);
      if (!parsed || parsed.purpose !== entry.statusPurpose || !Number.isInteger(index)) {
        reasons.push({ code: 'STATUS_UNAVAILABLE', message: `status entry ${url || '(none)'} is not one of this platform's status lists` });
        continue;
      }
      let set: boolean | null;
      try {
        set = await deps.lists.isSet(parsed.statusListId, parsed.purpose, index);
      } catch {
        set = null;
      }
      if (set === null) reasons.push({ code: 'STATUS_UNAVAILABLE', message: `status list ${parsed.statusListId}-${parsed.purpose} has no entry ${index}` });
      else bits[parsed.purpose] = set;
    }
    if (bits.revocation === undefined) {
      if (!reasons.some((r) => r.code === 'STATUS_UNAVAILABLE')) reasons.push({ code: 'STATUS_UNAVAILABLE', message: 'the credential has no revocation status entry' });
    } else {
      status = bits.revocation ? 'REVOKED' : bits.suspension ? 'SUSPENDED' : 'ACTIVE';
      if (status === 'REVOKED') reasons.push({ code: 'REVOKED', message: 'the issuer revoked this credential' });
      if (status === 'SUSPENDED') reasons.push({ code: 'SUSPENDED', message: 'the issuer suspended this credential' });
    }
  }
  const text = (x: unknown): string | null => (typeof x === 'string' ? x : null);
  const types = Array.isArray(p.type) ? (p.type as unknown[]).filter((t): t is string => typeof t === 'string' && t !== 'VerifiableCredential') : [];
  const id = text(p.id);
  return {
    valid: reasons.length === 0 && status === 'ACTIVE',
    reasons,
    status,
    signerMode: deps.mode,
    credentialSignerMode: v.signatureValid ? text(p.signerMode) : null,
    credentialId: id?.startsWith('urn:registo:credential:') ? id.slice('urn:registo:credential:'.length) : id,
    credentialType: types[0] ?? null,
    issuer: v.signatureValid ? (p.issuer ?? null) : null,
    validFrom: text(p.validFrom),
    validUntil: text(p.validUntil),
    credentialSubject: v.signatureValid && p.credentialSubject && typeof p.credentialSubject === 'object' ? (p.credentialSubject as Record<string, unknown>) : null,
    checkedAt: now.toISOString(),
  };
}

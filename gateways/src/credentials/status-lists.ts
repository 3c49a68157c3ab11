import type { SqlDriver } from '@registo/event-store';
import {
  type StatusPurpose,
  VC_CONTEXT,
  decodeStatusList,
  encodeStatusList,
  signVcJwt,
  statusBit,
  statusListUrl,
} from '@registo/credentials';
import type { CredentialIssuerContext } from '@registo/producers';
import { credentialStatusRevision, statusListExists, statusListIndices } from '@registo/projections';

/** How long a relying party may keep a status list before fetching it again. */
export const STATUS_LIST_TTL_MS = 5 * 60_000;

interface Built {
  revision: number;
  jwt: string;
  bits: Buffer;
  validUntil: number;
}

/**
 * Signed Bitstring Status List credentials made from the credential read model. A list is
 * re-signed only when the read model moved (its revision) or the signed one is about to expire.
 */
export class StatusLists {
  private readonly cache = new Map<string, Built>();

  constructor(
    private readonly db: SqlDriver,
    private readonly ctx: Pick<CredentialIssuerContext, 'vcKey' | 'mode' | 'publicUrl' | 'issuerName'>,
  ) {}

  /** The signed list, or null when no credential points to it. */
  async get(statusListId: string, purpose: StatusPurpose): Promise<Built | null> {
    const key = `${statusListId}-${purpose}`;
    const revision = await credentialStatusRevision(this.db);
    const cached = this.cache.get(key);
    if (cached && cached.revision === revision && cached.validUntil - Date.now() > STATUS_LIST_TTL_MS / 2) return cached;
    if (!(await statusListExists(this.db, statusListId))) return null;
    // A revoked credential is only in the revocation list; a suspended one only in the suspension list.
    const indices = await statusListIndices(this.db, statusListId, purpose === 'revocation' ? 'REVOKED' : 'SUSPENDED');
    const encodedList = encodeStatusList(indices);
    const url = statusListUrl(this.ctx.publicUrl, statusListId, purpose);
    const now = new Date();
    const until = new Date(now.getTime() + 2 * STATUS_LIST_TTL_MS);
    const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
    const jwt = await signVcJwt(this.ctx.vcKey, {
      '@context': [VC_CONTEXT],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: { id: this.ctx.publicUrl, name: this.ctx.issuerName },
      validFrom: now.toISOString(),
      validUntil: until.toISOString(),
      credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: purpose, encodedList, ttl: STATUS_LIST_TTL_MS },
      signerMode: this.ctx.mode,
      iss: this.ctx.publicUrl,
      iat: seconds(now),
      nbf: seconds(now),
      exp: seconds(until),
    });
    const built = { revision, jwt, bits: decodeStatusList(encodedList), validUntil: until.getTime() };
    this.cache.set(key, built);
    return built;
  }

  /** Whether the bit of `index` is set in that list (null: no such list). */
  async isSet(statusListId: string, purpose: StatusPurpose, index: number): Promise<boolean | null> {
    const list = await this.get(statusListId, purpose);
    return list ? statusBit(list.bits, index) : null;
  }
}

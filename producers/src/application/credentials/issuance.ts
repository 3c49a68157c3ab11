import { X509Certificate, createHash } from 'node:crypto';
import type { EventStore } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { SignerMode } from '@registo/hsm';
import { type HolderCertificateIssuer, type TrustKeys, normaliseSerialHex, toPem } from '@registo/trust';
import {
  CREDENTIAL_TYPES,
  type VcIssuerKey,
  claimsFor,
  holderUrn,
  parseHolderCsr,
  signVcJwt,
  statusEntries,
  vcPayload,
} from '@registo/credentials';
import { type CategoryEvent, type EventOf, type IdentityEventData, RegistoError, sha256Hex } from '@registo/schemas';
import { causedBy } from '../caused-by.js';
import { fold } from '../../decider.js';
import { authorizeHolder } from '../../credentials/holder-access.js';
import { requireIdentityIssuable, requireKeyNotRevoked } from '../../credentials/policies.js';
import { credentialHandler } from '../handlers.js';
import {
  type CredentialHolderState,
  type HolderPresence,
  IDENTITY_STATUS_REVOCATION,
  credentialDecider,
  credentialStreamId,
  vcCredentialId,
  x509CredentialId,
} from '../../deciders/credential.js';
import { type IdentityState, initialIdentityState } from '../../deciders/identity.js';
import { loadIdentity } from '../identity/load.js';
import { readStreamOf } from '../../typed-read.js';
import type { IdentityRecord } from '../../enrollment/personal-data.js';
import type { StatusListAllocator } from '../../credentials/status-allocator.js';

/** What `CredentialIssued.sealed` holds: the attributes stated and the credential itself. */
export interface SealedCredential {
  claims: Record<string, string>;
  /** The compact JWT (VC_JWT) or the PEM certificate (X509). */
  credential: string;
}

export interface CredentialIssuerContext {
  store: EventStore;
  sealer: SubjectSealer;
  allocator: StatusListAllocator;
  /** The identity CA: signs VCs and status lists. */
  vcKey: VcIssuerKey;
  mode: SignerMode;
  publicUrl: string;
  /** The identity CA's common name, shown as the VC issuer's name. */
  issuerName: string;
  /** The identity CA's subject, as recorded in X.509 credentials' `issuer`. */
  issuerSubject: string;
  /** Issues holder certificates from CSRs (absent: the X.509 API answers that it is not configured). */
  holderIssuer?: HolderCertificateIssuer | undefined;
  /** Which UINs a holder key is certified for: with holderIssuer, one key is certified for one UIN only. */
  holderKeys?: HolderKeyRegister | undefined;
  now?: () => Date;
}

/** The port the holder-certificate issuance asks which identities a key (SHA-256 of its SubjectPublicKeyInfo) is certified for. */
export interface HolderKeyRegister {
  certifiedFor(publicKeySha256: string): Promise<readonly string[]>;
}

const commonName = (subject: string): string => /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1] ?? subject;

/** The issuance context of a running platform: the identity CA of its trust hierarchy. */
export function credentialIssuerContext(
  trust: TrustKeys,
  deps: { store: EventStore; sealer: SubjectSealer; allocator: StatusListAllocator; publicUrl: string; holderIssuer?: HolderCertificateIssuer; holderKeys?: HolderKeyRegister; now?: () => Date },
): CredentialIssuerContext {
  const ca = trust.certificates.identity_ca;
  return {
    ...deps,
    // x5c holds the identity CA only: the root is the relying party's trust anchor, and leaving it
    // out keeps the credential's QR code within one symbol.
    vcKey: { signer: trust.signers.identity_ca, certificateDer: ca.der, chainDer: [] },
    mode: trust.mode,
    issuerName: commonName(ca.x509.subject),
    issuerSubject: ca.x509.subject.split('\n').join(', '),
  };
}

const SYSTEM = { id: 'credential-issuance', role: 'system' } as const;
const addDays = (d: Date, days: number): Date => new Date(d.getTime() + days * 86_400_000);

async function holderState(store: EventStore, uin: string): Promise<{ history: Array<CategoryEvent<'credential'>>; state: CredentialHolderState }> {
  const history = await readStreamOf(store, 'credential', credentialStreamId(uin));
  return { history, state: fold(credentialDecider, history) };
}

export interface IssueOutcome {
  credentialId: string;
  /** False when it had been issued before (a redelivery): nothing was signed or appended. */
  issued: boolean;
}

/**
 * The national identity VC for an IdentityCreated / IdentityUpdated event: the allowed
 * attributes of the identity record, a place in the status lists, ES256 by the identity CA,
 * sealed under the identity's subject key. An update's VC supersedes the previous one.
 * Safe to repeat: the credential id comes from the event, the decider issues an id once, and the
 * status-list place is allocated per id.
 */
export async function issueIdentityCredential(
  ctx: CredentialIssuerContext,
  event: EventOf<Pick<IdentityEventData, 'IdentityCreated' | 'IdentityUpdated'>>,
): Promise<IssueOutcome & { skipped?: string }> {
  const data = event.data;
  const uin = data.uin;
  const credentialId = vcCredentialId(uin, event.revision);
  const { history, state } = await holderState(ctx.store, uin);
  if (state.credentials[credentialId]) return { credentialId, issued: false };
  let record: IdentityRecord;
  try {
    record = await ctx.sealer.open<IdentityRecord>(data.sealed);
  } catch (e) {
    // Erased since: there is nobody to issue to any more.
    if (e instanceof RegistoError && e.code === 'SUBJECT_KEY_DESTROYED') return { credentialId, issued: false, skipped: 'erased' };
    throw e;
  }
  const residency = event.type === 'IdentityCreated' ? event.data.residency : ((await identityOf(ctx, uin)).residency ?? undefined);
  const type = 'NationalIdentityCredential' as const;
  const claims = claimsFor(type, { uin, residency, ...record.demographics });
  const issuedAt = ctx.now?.() ?? new Date();
  const expiresAt = addDays(issuedAt, CREDENTIAL_TYPES[type].validityDays);
  const position = await ctx.allocator.allocate(credentialId);
  const jwt = await signVcJwt(
    ctx.vcKey,
    vcPayload({
      credentialId,
      credentialType: type,
      publicUrl: ctx.publicUrl,
      issuerName: ctx.issuerName,
      subjectId: holderUrn(uin),
      claims,
      issuedAt,
      expiresAt,
      signerMode: ctx.mode,
      credentialStatus: statusEntries(ctx.publicUrl, position.statusListId, position.statusListIndex),
    }),
  );
  const sealed = await ctx.sealer.seal(data.sealed.subjectId, { claims, credential: jwt } satisfies SealedCredential);
  const result = await credentialHandler(
    ctx.store,
    uin,
    {
      type: 'IssueCredential',
      supersede: event.type === 'IdentityUpdated',
      keyCertifiedFor: [],
      credentialId,
      uin,
      kind: 'VC_JWT',
      credentialType: type,
      serialHex: null,
      ...position,
      issuer: ctx.publicUrl,
      issuedAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      signerMode: ctx.mode,
      credentialSha256: sha256Hex(jwt),
      cause: event.eventId,
      sealed,
    },
    { metadata: causedBy(event, SYSTEM), history },
  );
  return { credentialId, issued: result.events.length > 0 };
}

/** IdentityStatusChanged to DECEASED or BLOCKED, and SubjectKeyDestroyed, revoke every live credential of the holder (no-op otherwise, and when repeated). */
export async function applyIdentityStatus(
  ctx: Pick<CredentialIssuerContext, 'store'>,
  event: EventOf<Pick<IdentityEventData, 'IdentityStatusChanged' | 'SubjectKeyDestroyed'>>,
): Promise<number> {
  // SubjectKeyDestroyed (erasure) counts as the holder condition ERASED.
  const condition = event.type === 'SubjectKeyDestroyed' ? 'ERASED' : event.data.to;
  if (!IDENTITY_STATUS_REVOCATION[condition]) return 0;
  const { uin } = event.data;
  const result = await credentialHandler(ctx.store, uin, { type: 'ApplyIdentityStatus', uin, identityStatus: condition, cause: event.eventId }, { metadata: causedBy(event, SYSTEM) });
  return result.events.length;
}

async function identityOf(ctx: Pick<CredentialIssuerContext, 'store' | 'sealer'>, uin: string): Promise<IdentityState & { subjectId: string | null }> {
  const identity = await loadIdentity(ctx, uin);
  return identity ? { ...identity.state, subjectId: identity.subjectId } : { ...initialIdentityState(), subjectId: null };
}

/** Deterministic, positive, 16 bytes: a retried issuance names the same certificate. */
export function serialNumberFor(credentialId: string): Buffer {
  const b = createHash('sha256').update(`registo-holder-serial:${credentialId}`).digest().subarray(0, 16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return Buffer.from(b);
}

export interface HolderCertificateOutcome extends IssueOutcome {
  serialHex: string;
  certificatePem: string;
  issuedAt: string;
  expiresAt: string;
}

/**
 * An X.509 credential for a holder key (card chip, wallet), from its CSR. The CSR's signature
 * is the proof of possession (checked here and by the holder issuer). One credential per holder
 * key: the same key again returns the certificate already issued. `presence` is the holder's
 * proof when the holder channel asks (the decider's holder binding must allow it); null when an
 * identity officer submits the CSR for a holder present in person (the first key).
 */
export async function issueHolderCertificate(
  ctx: CredentialIssuerContext,
  request: { uin: string; csr: unknown; actor: { id: string; role: string }; presence: HolderPresence | null },
): Promise<HolderCertificateOutcome> {
  if (!ctx.holderIssuer || !ctx.holderKeys) throw new RegistoError('CONFIG_INVALID', 'no holder certificate issuer (and holder-key register) is configured on this platform');
  const { uin } = request;
  // Before anything else is looked at: whoever is not bound to this holder learns nothing about it.
  if (request.presence) await authorizeHolder(ctx.store, uin, request.presence);
  const { history, state } = await holderState(ctx.store, uin);
  const csr = await parseHolderCsr(request.csr);
  const identity = await identityOf(ctx, uin);
  if (!identity.exists) throw new RegistoError('NOT_FOUND', `no identity ${uin}`);
  if (identity.erased) throw new RegistoError('SUBJECT_KEY_DESTROYED', `identity ${uin} has been erased`, { uin });
  requireIdentityIssuable(uin, identity.status);
  const credentialId = x509CredentialId(uin, csr.publicKeySha256);
  const existing = state.credentials[credentialId];
  if (existing) {
    requireKeyNotRevoked(credentialId, existing);
    const issued = history.flatMap((e) => (e.type === 'CredentialIssued' && e.data.credentialId === credentialId ? [e.data] : []))[0]!;
    const opened = await ctx.sealer.open<SealedCredential>(issued.sealed);
    return { credentialId, issued: false, serialHex: issued.serialHex!, certificatePem: opened.credential, issuedAt: issued.issuedAt, expiresAt: issued.expiresAt };
  }
  const type = 'HolderAuthenticationCertificate' as const;
  const notBefore = ctx.now?.() ?? new Date();
  const notAfter = addDays(notBefore, CREDENTIAL_TYPES[type].validityDays);
  const cert = await ctx.holderIssuer.issue({ csrDer: csr.der, uin, credentialId, serialNumber: serialNumberFor(credentialId), notBefore, notAfter });
  const certificatePem = toPem(cert.certificateDer);
  const serialHex = normaliseSerialHex(cert.serialHex);
  const sealed = await ctx.sealer.seal(identity.subjectId!, { claims: claimsFor(type, { uin }), credential: certificatePem } satisfies SealedCredential);
  const issuer = new X509Certificate(cert.certificateDer).issuer.split('\n').join(', ');
  const metadata = { correlationId: `credential-${credentialId}`, actor: { id: request.actor.id, role: request.actor.role } };
  const result = await credentialHandler(
    ctx.store,
    uin,
    {
      type: 'IssueCredential',
      supersede: false,
      keyCertifiedFor: await ctx.holderKeys.certifiedFor(csr.publicKeySha256),
      credentialId,
      uin,
      kind: 'X509',
      credentialType: type,
      serialHex,
      statusListId: null,
      statusListIndex: null,
      issuer,
      issuedAt: cert.notBefore.toISOString(),
      expiresAt: cert.notAfter.toISOString(),
      signerMode: ctx.holderIssuer.mode,
      credentialSha256: sha256Hex(cert.certificateDer),
      cause: `csr:${csr.publicKeySha256}`,
      sealed,
    },
    { metadata, history },
  );
  // The identity may have been closed while we issued: its revocation may have run before this
  // append and missed the new certificate. Looking again after the append closes that window.
  const now = await identityOf(ctx, uin);
  const condition = now.erased ? 'ERASED' : now.status;
  if (condition && IDENTITY_STATUS_REVOCATION[condition]) {
    await credentialHandler(ctx.store, uin, { type: 'ApplyIdentityStatus', uin, identityStatus: condition, cause: `recheck:${credentialId}` }, { metadata });
  }
  return { credentialId, issued: result.events.length > 0, serialHex, certificatePem, issuedAt: cert.notBefore.toISOString(), expiresAt: cert.notAfter.toISOString() };
}

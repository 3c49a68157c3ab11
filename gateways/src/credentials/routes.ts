import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseStatusListPublicId, toQrPayload } from '@registo/credentials';
import { type SealedCredential, authorizeHolder, identityStreamId, issueHolderCertificate, uinOfCredentialId } from '@registo/producers';
import { type CredentialRow, findCredential, listCredentialsOfHolder } from '@registo/projections';
import { RegistoError } from '@registo/schemas';
import { HolderProofs } from '../auth/holder-proof.js';
import type { ApiActor, ApiRole } from '../auth/tokens.js';
import type { CredentialRouteContext, CredentialRoutesDeps } from './context.js';
import { registerPrintOrderRoutes } from './print-orders.js';
import { StatusLists } from './status-lists.js';
import { registerStatusRequestRoutes } from './status-requests.js';
import { verifyCredential } from './verify.js';

export type { CredentialRoutesDeps } from './context.js';

const READERS: readonly ApiRole[] = ['holder_channel', 'identity_officer', 'approver', 'operator'];
/** The holder channel for a holder who proves presence; an identity officer for a holder at the counter (the first key). */
const CSR_SUBMITTERS: readonly ApiRole[] = ['holder_channel', 'identity_officer'];

const csrBody = { type: 'object', additionalProperties: false, required: ['csr'], properties: { csr: { type: 'string', minLength: 1, maxLength: 16384 } } } as const;
const verifyBody = { type: 'object', additionalProperties: false, required: ['credential'], properties: { credential: { type: 'string', minLength: 1, maxLength: 65536 } } } as const;

/** What the APIs show of a credential: never the attributes or the credential unless asked by the holder's channel. */
const view = (c: CredentialRow) => ({
  credentialId: c.credentialId,
  uin: c.uin,
  kind: c.kind,
  credentialType: c.credentialType,
  status: c.status,
  reason: c.reason,
  serialHex: c.serialHex,
  statusList: c.statusListId === null ? null : { id: c.statusListId, index: c.statusListIndex },
  issuer: c.issuer,
  issuedAt: c.issuedAt,
  expiresAt: c.expiresAt,
  signerMode: c.signerMode,
  credentialSha256: c.credentialSha256,
  statusChangedAt: c.statusChangedAt,
});

/**
 * Credentials over HTTP (gateways/credentials): the holder's channel lists and fetches
 * credentials and submits CSRs; officers request status changes and approvers decide them
 * (dual control); anyone fetches status lists and verifies a credential; the print bureau reads
 * its print orders. Every answer names the signer mode.
 */
export function registerCredentialRoutes(app: FastifyInstance, deps: CredentialRoutesDeps): void {
  const ctx: CredentialRouteContext = {
    deps,
    mode: deps.issuer.mode,
    lists: new StatusLists(deps.db, deps.issuer),
    guard: (roles) => ({ onRequest: async (request: FastifyRequest) => void deps.tokens.authorize(request, roles) }),
  };
  registerHolderRoutes(app, ctx);
  registerStatusRequestRoutes(app, ctx);
  registerPublicRoutes(app, ctx);
  registerPrintOrderRoutes(app, ctx);
}

/** The holder's credentials: listed, fetched, and a further key certified from a CSR. */
function registerHolderRoutes(app: FastifyInstance, { deps, mode, guard }: CredentialRouteContext): void {
  const proofs = new HolderProofs(deps.tokens);
  /** The holder channel acts for one holder at a time: the one whose bound key signed this request's proof. */
  const requireHolder = async (request: FastifyRequest, actor: ApiActor, uin: string): Promise<void> => {
    const presence = await proofs.presence(request, actor);
    try {
      await authorizeHolder(deps.store, uin, presence);
    } catch (e) {
      proofs.refuseUnbound(request, actor, e);
      throw e;
    }
  };

  app.get<{ Params: { uin: string } }>('/v1/holders/:uin/credentials', guard(READERS), async (request) => {
    const actor = deps.tokens.authorize(request, READERS);
    const { uin } = request.params;
    // The holder channel proves a key bound to this UIN first, so a caller who is not the holder
    // learns nothing (403 HOLDER_NOT_BOUND for an unknown UIN too); staff, who may look up
    // identities anyway, are told that a UIN names nobody rather than handed an empty list.
    if (actor.role === 'holder_channel') await requireHolder(request, actor, uin);
    const items = (await listCredentialsOfHolder(deps.db, uin)).map(view);
    if (items.length === 0 && (await deps.store.readStream(identityStreamId(uin), { maxCount: 1 })).length === 0) {
      throw new RegistoError('NOT_FOUND', `no identity ${uin}`);
    }
    return { signerMode: mode, items };
  });

  app.get<{ Params: { credentialId: string } }>('/v1/credentials/:credentialId', guard(READERS), async (request) => {
    const actor = deps.tokens.authorize(request, READERS);
    if (actor.role === 'holder_channel') {
      // The id names its holder; an id that names none is nobody's credential.
      const uin = uinOfCredentialId(request.params.credentialId);
      if (!uin) throw new RegistoError('NOT_FOUND', `no credential ${request.params.credentialId}`);
      await requireHolder(request, actor, uin);
    }
    const row = await findCredential(deps.db, request.params.credentialId);
    if (!row) throw new RegistoError('NOT_FOUND', `no credential ${request.params.credentialId}`);
    const answer = { ...view(row), signerMode: mode, credentialSignerMode: row.signerMode };
    // The credential itself goes to the holder's channel only; erased → 410 SUBJECT_KEY_DESTROYED.
    if (actor.role !== 'holder_channel') return answer;
    const opened = await deps.sealer.open<SealedCredential>(row.sealed);
    return { ...answer, credential: opened.credential, ...(row.kind === 'VC_JWT' && { qr: toQrPayload(opened.credential) }) };
  });

  app.post<{ Params: { uin: string }; Body: { csr: string } }>('/v1/holders/:uin/credentials/x509', { schema: { body: csrBody }, ...guard(CSR_SUBMITTERS) }, async (request, reply) => {
    const actor = deps.tokens.authorize(request, CSR_SUBMITTERS);
    // The holder channel certifies a further key for a holder whose bound key signs the proof; an officer certifies in person.
    const presence = actor.role === 'holder_channel' ? await proofs.presence(request, actor) : null;
    // CSR_MALFORMED, CSR_SIGNATURE_INVALID, CSR_KEY_UNSUPPORTED, CSR_CURVE_UNSUPPORTED as the holder issuer names them.
    let out;
    try {
      out = await issueHolderCertificate(deps.issuer, { uin: request.params.uin, csr: request.body.csr, actor, presence });
    } catch (e) {
      proofs.refuseUnbound(request, actor, e);
      throw e;
    }
    reply.code(out.issued ? 201 : 200);
    return { ...out, kind: 'X509', signerMode: deps.issuer.holderIssuer?.mode ?? mode };
  });
}

/** What anyone may ask: a status list, and whether a credential is valid. */
function registerPublicRoutes(app: FastifyInstance, { deps, mode, lists }: CredentialRouteContext): void {
  app.get<{ Params: { id: string } }>('/v1/status-lists/:id', async (request, reply) => {
    const parsed = parseStatusListPublicId(request.params.id);
    const list = parsed && (await lists.get(parsed.statusListId, parsed.purpose));
    if (!list) throw new RegistoError('NOT_FOUND', `no status list ${request.params.id}`);
    reply.header('registo-signer-mode', mode).header('cache-control', 'public, max-age=60');
    if ((request.headers.accept ?? '').includes('application/json')) return { signerMode: mode, statusListCredential: list.jwt };
    return reply.type('application/vc+jwt').send(list.jwt);
  });

  app.post<{ Body: { credential: string } }>('/v1/verify-credential', { schema: { body: verifyBody } }, async (request) =>
    verifyCredential(request.body.credential, { anchors: deps.anchors, lists, publicUrl: deps.issuer.publicUrl, mode }),
  );
}

import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkText } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import {
  PRINT_AGREEMENT_ATTRIBUTES,
  type VcTrustAnchors,
  parseStatusListPublicId,
  pickAttributes,
  toQrPayload,
} from '@registo/credentials';
import {
  CommandRejected,
  type CredentialIssuerContext,
  REQUESTABLE_REVOCATION_REASONS,
  type SealedCredential,
  authorizeHolder,
  decideStatusChange,
  identityStreamId,
  isPrintable,
  issueHolderCertificate,
  requestStatusChange,
  statusRequestId,
  uinOfCredentialId,
  uinOfRequestId,
} from '@registo/producers';
import { type CredentialRow, findCredential, listCredentialsIssuedAfter, listCredentialsOfHolder, listStatusRequests } from '@registo/projections';
import { CREDENTIAL_STATUS_ACTIONS, type CredentialRevocationReason, type CredentialStatusAction, RegistoError, isRegistoError } from '@registo/schemas';
import { HolderProofs } from '../auth/holder-proof.js';
import type { ApiActor, ApiRole, ApiTokens } from '../auth/tokens.js';
import { StatusLists } from './status-lists.js';
import { verifyCredential } from './verify.js';
import { WHOLE_NUMBER, querySchema } from '../http/request-schema.js';

export interface CredentialRoutesDeps {
  store: EventStore;
  db: SqlDriver;
  sealer: SubjectSealer;
  tokens: ApiTokens;
  /** The identity CA and the issuance services (status lists are signed with the same key). */
  issuer: CredentialIssuerContext;
  /** What verification trusts: the identity CA and the root above it. */
  anchors: VcTrustAnchors;
}

const READERS: readonly ApiRole[] = ['holder_channel', 'identity_officer', 'approver', 'operator'];
const REQUESTERS: readonly ApiRole[] = ['identity_officer', 'approver'];
/** The holder channel for a holder who proves presence; an identity officer for a holder at the counter (the first key). */
const CSR_SUBMITTERS: readonly ApiRole[] = ['holder_channel', 'identity_officer'];

const statusRequestBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'comment'],
  properties: {
    action: { type: 'string', enum: [...CREDENTIAL_STATUS_ACTIONS] },
    reason: { type: 'string', enum: [...REQUESTABLE_REVOCATION_REASONS] },
    comment: { type: 'string', minLength: 3, maxLength: 2000, textKind: 'free' },
  },
} as const;
/** An approval or rejection may come with no body at all; when it has one, only a comment. */
function decisionComment(body: unknown): string | null {
  if (body === undefined || body === null || body === '') return null;
  const ok = typeof body === 'object' && !Array.isArray(body) && Object.keys(body).every((k) => k === 'comment');
  const comment = ok ? (body as { comment?: unknown }).comment : undefined;
  if (!ok || (comment !== undefined && (typeof comment !== 'string' || comment.length < 1 || comment.length > 2000))) {
    throw new RegistoError('REQUEST_INVALID', 'the body is empty or { "comment": "…" } (1 to 2000 characters)');
  }
  if (comment === undefined) return null;
  const checked = checkText(comment as string, 'free');
  if (!checked.ok) throw new RegistoError('REQUEST_INVALID', `comment ${checked.message}`, { field: 'comment', reason: checked.problem });
  return checked.value;
}
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

/** Decider refusals that mean "no such thing" are 404s; dual control has its own code (and is logged and counted as a refusal). */
function translate(e: unknown, request: FastifyRequest, tokens: ApiTokens, actor: ApiActor): never {
  if (e instanceof CommandRejected) {
    if (e.reason === 'CREDENTIAL_NOT_FOUND' || e.reason === 'REQUEST_NOT_FOUND') throw new RegistoError('NOT_FOUND', e.message, { reason: e.reason });
    if (e.reason === 'DUAL_CONTROL_VIOLATION') tokens.refuse(request, { code: 'DUAL_CONTROL_VIOLATION', reason: 'DUAL_CONTROL', actor }, e.message, e.details);
  }
  throw e;
}

/**
 * Credentials over HTTP (gateways/credentials): the holder's channel lists and fetches
 * credentials and submits CSRs; officers request status changes and approvers decide them
 * (dual control); anyone fetches status lists and verifies a credential; the print bureau reads
 * its print orders. Every answer names the signer mode.
 */
export function registerCredentialRoutes(app: FastifyInstance, deps: CredentialRoutesDeps): void {
  const mode = deps.issuer.mode;
  const lists = new StatusLists(deps.db, deps.issuer);
  const guard = (roles: readonly ApiRole[]) => ({ onRequest: async (request: FastifyRequest) => void deps.tokens.authorize(request, roles) });
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

  app.post<{ Params: { credentialId: string }; Body: { action: CredentialStatusAction; reason?: CredentialRevocationReason; comment: string } }>(
    '/v1/credentials/:credentialId/status-requests',
    { schema: { body: statusRequestBody }, ...guard(REQUESTERS) },
    async (request, reply) => {
      const actor = deps.tokens.authorize(request, REQUESTERS);
      const { credentialId } = request.params;
      const uin = uinOfCredentialId(credentialId);
      if (!uin) throw new RegistoError('NOT_FOUND', `no credential ${credentialId}`);
      const requestId = statusRequestId(uin, randomBytes(8).toString('hex'));
      const { action, comment } = request.body;
      try {
        await requestStatusChange(deps.store, { uin, requestId, credentialId, action, reason: request.body.reason ?? null, comment }, actor);
      } catch (e) {
        translate(e, request, deps.tokens, actor);
      }
      reply.code(202);
      return { requestId, credentialId, action, state: 'PENDING', requestedBy: actor.id, signerMode: mode, note: 'no effect until a different person with the approver role approves it' };
    },
  );

  app.get<{ Querystring: { state?: string } }>('/v1/credential-status-requests', { schema: { querystring: querySchema({ state: { pattern: '^[A-Z]{1,16}$' } }) }, ...guard(['approver', 'identity_officer', 'operator']) }, async (request) => {
    deps.tokens.authorize(request, ['approver', 'identity_officer', 'operator']);
    const state = request.query.state ?? 'PENDING';
    if (!['PENDING', 'APPROVED', 'REJECTED', 'ALL'].includes(state)) throw new RegistoError('REQUEST_INVALID', 'state is PENDING, APPROVED, REJECTED or ALL');
    return { signerMode: mode, items: await listStatusRequests(deps.db, state === 'ALL' ? null : (state as 'PENDING')) };
  });

  const decide = (verb: 'approve' | 'reject') =>
    app.post<{ Params: { requestId: string }; Body: unknown }>(
      `/v1/credential-status-requests/:requestId/${verb}`,
      guard(['approver']),
      async (request) => {
        const actor = deps.tokens.authorize(request, ['approver']);
        // What was sent is checked before what it names is looked up, as on every other route.
        const comment = decisionComment(request.body);
        const { requestId } = request.params;
        const uin = uinOfRequestId(requestId);
        if (!uin) throw new RegistoError('NOT_FOUND', `no status-change request ${requestId}`);
        let result;
        try {
          result = await decideStatusChange(deps.store, { uin, requestId, verb, comment }, actor);
        } catch (e) {
          translate(e, request, deps.tokens, actor);
        }
        const r = result.request;
        return { requestId, credentialId: r.credentialId, action: r.action, state: r.state, requestedBy: r.requestedBy, decidedBy: r.decidedBy, credentialStatus: result.credentialStatus, signerMode: mode };
      },
    );
  decide('approve');
  decide('reject');

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

  app.get<{ Querystring: { after?: string; limit?: string } }>('/v1/print-orders', { schema: { querystring: querySchema({ after: { pattern: WHOLE_NUMBER }, limit: { pattern: WHOLE_NUMBER } }) }, ...guard(['print_bureau']) }, async (request, reply) => {
    deps.tokens.authorize(request, ['print_bureau']);
    const after = Number(request.query.after ?? 0);
    const limit = Number(request.query.limit ?? 100);
    if (!Number.isSafeInteger(after) || after < 0) throw new RegistoError('REQUEST_INVALID', 'after is a non-negative integer cursor');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RegistoError('REQUEST_INVALID', 'limit is 1..1000');
    const rows = await listCredentialsIssuedAfter(deps.db, after, limit, 'VC_JWT');
    const lines: string[] = [];
    for (const row of rows) {
      // Only cards that are still good are printed; an erased holder's data cannot be opened.
      if (!isPrintable(row)) continue;
      let opened: SealedCredential;
      try {
        opened = await deps.sealer.open<SealedCredential>(row.sealed);
      } catch (e) {
        if (isRegistoError(e, 'SUBJECT_KEY_DESTROYED')) continue;
        throw e;
      }
      lines.push(
        JSON.stringify({
          cursor: row.issuedPosition,
          credentialId: row.credentialId,
          credentialType: row.credentialType,
          ...pickAttributes(PRINT_AGREEMENT_ATTRIBUTES, opened.claims),
          issuedAt: row.issuedAt,
          expiresAt: row.expiresAt,
          qr: toQrPayload(opened.credential),
          signerMode: row.signerMode,
        }),
      );
    }
    const next = rows.length > 0 ? rows[rows.length - 1]!.issuedPosition : after;
    reply.header('registo-next-cursor', String(next)).header('registo-signer-mode', mode);
    return reply.type('application/x-ndjson').send(lines.map((l) => `${l}\n`).join(''));
  });
}

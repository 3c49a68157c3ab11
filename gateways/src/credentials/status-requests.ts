import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkText } from '@registo/base';
import { CommandRejected, REQUESTABLE_REVOCATION_REASONS, decideStatusChange, requestStatusChange, statusRequestId, uinOfCredentialId, uinOfRequestId } from '@registo/producers';
import { listStatusRequests } from '@registo/projections';
import { CREDENTIAL_STATUS_ACTIONS, type CredentialRevocationReason, type CredentialStatusAction, RegistoError } from '@registo/schemas';
import type { ApiActor, ApiRole, ApiTokens } from '../auth/tokens.js';
import { querySchema } from '../http/request-schema.js';
import type { CredentialRouteContext } from './context.js';

const REQUESTERS: readonly ApiRole[] = ['identity_officer', 'approver'];

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
/** Decider refusals that mean "no such thing" are 404s; dual control has its own code (and is logged and counted as a refusal). */
function translate(e: unknown, request: FastifyRequest, tokens: ApiTokens, actor: ApiActor): never {
  if (e instanceof CommandRejected) {
    if (e.reason === 'CREDENTIAL_NOT_FOUND' || e.reason === 'REQUEST_NOT_FOUND') throw new RegistoError('NOT_FOUND', e.message, { reason: e.reason });
    if (e.reason === 'DUAL_CONTROL_VIOLATION') tokens.refuse(request, { code: 'DUAL_CONTROL_VIOLATION', reason: 'DUAL_CONTROL', actor }, e.message, e.details);
  }
  throw e;
}

/** Status changes under dual control: an officer requests one, a different approver approves or rejects it. */
export function registerStatusRequestRoutes(app: FastifyInstance, { deps, mode, guard }: CredentialRouteContext): void {
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
}

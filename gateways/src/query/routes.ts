import type { FastifyInstance } from 'fastify';
import type { EventStore, SqlDriver } from '@registo/event-store';
import { type MacKeyLike, blindIndexWith } from '@registo/crypto';
import { changeIdentityStatus } from '@registo/producers';
import { type IdentityRow, findIdentitiesByCivilRegistryIndex, findIdentityByUin } from '@registo/projections';
import { IDENTITY_STATUSES, type IdentityStatus, RegistoError } from '@registo/schemas';
import type { ApiTokens } from '../auth/tokens.js';
import { querySchema } from '../http/request-schema.js';

export interface QueryDeps {
  store: EventStore;
  db: SqlDriver;
  indexKey: MacKeyLike;
  tokens: ApiTokens;
}

const statusBody = {
  type: 'object',
  // Refused, not stripped: the app's validator runs with removeAdditional off (http/app.ts).
  additionalProperties: false,
  required: ['status', 'reason'],
  properties: { status: { type: 'string', enum: [...IDENTITY_STATUSES] }, reason: { type: 'string', minLength: 3, maxLength: 2000, textKind: 'free' } },
} as const;

/** A civil-registry number in the characters packets carry it in, spaced as people write it (the blind index normalises). */
const searchQuery = querySchema({ civilRegistryNumber: { pattern: '^[A-Za-z0-9/._ -]+$', maxLength: 64 } });

/** What the register says about an identity: never personal data, which stays sealed. */
const view = (r: IdentityRow) => ({ uin: r.uin, status: r.status, residency: r.residency, enrollments: r.regIds, erased: r.erased, createdAt: r.createdAt, updatedAt: r.updatedAt });

/**
 * The identity register over HTTP (gateways/query): look an identity up by UIN or by
 * civil-registry number (through its blind index), and change its status with a reason.
 */
export function registerIdentityRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get<{ Params: { uin: string } }>('/v1/identities/:uin', async (request) => {
    deps.tokens.authorize(request, ['identity_officer', 'adjudicator', 'operator']);
    const row = await findIdentityByUin(deps.db, request.params.uin);
    if (!row) throw new RegistoError('NOT_FOUND', `no identity ${request.params.uin}`);
    return view(row);
  });

  app.get<{ Querystring: { civilRegistryNumber?: string } }>('/v1/identities', { schema: { querystring: searchQuery } }, async (request) => {
    deps.tokens.authorize(request, ['identity_officer', 'adjudicator', 'operator']);
    const number = request.query.civilRegistryNumber;
    if (!number) throw new RegistoError('REQUEST_INVALID', 'search by ?civilRegistryNumber=');
    return { items: (await findIdentitiesByCivilRegistryIndex(deps.db, await blindIndexWith(number, deps.indexKey))).map(view) };
  });

  app.post<{ Params: { uin: string }; Body: { status: IdentityStatus; reason: string } }>(
    '/v1/identities/:uin/status',
    // Who is asking comes before what they send: an anonymous or unentitled caller gets 401/403, not the body's schema.
    { schema: { body: statusBody }, onRequest: async (request) => void deps.tokens.authorize(request, ['identity_officer']) },
    async (request) => {
      const actor = deps.tokens.authorize(request, ['identity_officer']);
      const { uin } = request.params;
      return changeIdentityStatus(deps.store, uin, { to: request.body.status, reason: request.body.reason }, actor);
    },
  );
}

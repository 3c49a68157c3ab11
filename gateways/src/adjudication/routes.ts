import type { FastifyInstance } from 'fastify';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import {
  type EnrollmentPersonalData,
  decideAdjudication,
  enrollmentStreamId,
  loadIdentity,
  readStreamOf,
} from '@registo/producers';
import { findAdjudication, listAdjudications } from '@registo/projections';
import { ADJUDICATION_DECISIONS, type AdjudicationDecision, RegistoError, type SealedData, isRegistoError } from '@registo/schemas';
import type { ApiTokens } from '../auth/tokens.js';
import { PRINTABLE, WHOLE_NUMBER, querySchema } from '../http/request-schema.js';

export interface AdjudicationDeps {
  store: EventStore;
  db: SqlDriver;
  sealer: SubjectSealer;
  tokens: ApiTokens;
}

const decisionBody = {
  type: 'object',
  // Refused, not stripped: the app's validator runs with removeAdditional off (http/app.ts).
  additionalProperties: false,
  required: ['decision', 'reason'],
  properties: {
    decision: { type: 'string', enum: [...ADJUDICATION_DECISIONS] },
    reason: { type: 'string', minLength: 3, maxLength: 2000, textKind: 'free' },
    targetUin: { type: 'string', pattern: '^[0-9]{10,12}$' },
  },
} as const;

const listQuery = querySchema({ status: { pattern: '^[A-Za-z]{1,16}$' }, limit: { pattern: WHOLE_NUMBER }, after: { pattern: PRINTABLE } });

/** Opens sealed data for an adjudicator, or says plainly that it is gone. */
async function openOrGone<T>(sealer: SubjectSealer, sealed: SealedData | undefined): Promise<T | { erased: true } | null> {
  if (!sealed) return null;
  try {
    return await sealer.open<T>(sealed);
  } catch (e) {
    if (isRegistoError(e, 'SUBJECT_KEY_DESTROYED')) return { erased: true };
    throw e;
  }
}

/**
 * Adjudication (gateways): the officers' queue, one case with the applicant's data beside each
 * candidate's, and the decision — approve, reject or treat as an update of an existing
 * identity — recorded with the adjudicator's identity from their token.
 */
export function registerAdjudicationRoutes(app: FastifyInstance, deps: AdjudicationDeps): void {
  app.get<{ Querystring: { status?: string; limit?: string; after?: string } }>('/v1/adjudications', { schema: { querystring: listQuery } }, async (request) => {
    deps.tokens.authorize(request, ['adjudicator', 'identity_officer', 'operator']);
    const status = (request.query.status ?? 'OPEN').toUpperCase();
    if (status !== 'OPEN' && status !== 'DECIDED' && status !== 'ALL') throw new RegistoError('REQUEST_INVALID', 'status is OPEN, DECIDED or ALL');
    const limit = Math.min(500, Math.max(1, Number(request.query.limit ?? 100) || 100));
    const items = await listAdjudications(deps.db, { ...(status !== 'ALL' && { status }), limit, ...(request.query.after && { after: request.query.after }) });
    return { items, next: items.length === limit ? items[items.length - 1]!.adjudicationId : null };
  });

  app.get<{ Params: { id: string } }>('/v1/adjudications/:id', async (request) => {
    deps.tokens.authorize(request, ['adjudicator']);
    const row = await findAdjudication(deps.db, request.params.id);
    if (!row) throw new RegistoError('NOT_FOUND', `no adjudication ${request.params.id}`);
    const enrollment = await readStreamOf(deps.store, 'enrollment', enrollmentStreamId(row.regId));
    const submitted = enrollment.flatMap((e) => (e.type === 'EnrollmentSubmitted' ? [e.data.sealed] : []))[0];
    const applicant = await openOrGone<EnrollmentPersonalData>(deps.sealer, submitted);
    const candidates = await Promise.all(
      row.candidates.map(async (candidate) => {
        if (!/^[0-9]+$/.test(candidate)) return { candidate, identity: null };
        const opened = await (await loadIdentity(deps, candidate))?.openRecord();
        return { candidate, identity: opened ? (opened.erased ? { erased: true } : opened.record) : null };
      }),
    );
    // Templates are for the ABIS, not for eyes: the officer sees which were captured and how well.
    const shown = applicant && 'demographics' in applicant ? { ...applicant, biometrics: applicant.biometrics.map(({ template: _t, ...b }) => b) } : applicant;
    return { ...row, applicant: shown, candidates, timeline: enrollment.map((e) => ({ type: e.type, at: e.metadata.recordedAt })) };
  });

  app.post<{ Params: { id: string }; Body: { decision: AdjudicationDecision; reason: string; targetUin?: string } }>(
    '/v1/adjudications/:id/decision',
    // Who is asking comes before what they send: an anonymous or unentitled caller gets 401/403, not the body's schema.
    { schema: { body: decisionBody }, onRequest: async (request) => void deps.tokens.authorize(request, ['adjudicator']) },
    async (request) => {
      const actor = deps.tokens.authorize(request, ['adjudicator']);
      const row = await findAdjudication(deps.db, request.params.id);
      if (!row) throw new RegistoError('NOT_FOUND', `no adjudication ${request.params.id}`);
      const { decision, reason, targetUin } = request.body;
      const { position } = await decideAdjudication(deps.store, { regId: row.regId, adjudicationId: row.adjudicationId, decision, reason, targetUin: targetUin ?? null }, actor);
      return { adjudicationId: row.adjudicationId, regId: row.regId, decision, adjudicatorId: actor.id, position };
    },
  );
}

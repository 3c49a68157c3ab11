import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { ExternalChange, SyncSystem } from '@registo/external';
import { CommandRejected, LEGACY_CLOSE_ACTION, RESOLUTION_ACTIONS, type ResolutionAction, resolveMismatch } from '@registo/producers';
import { SYNC_STATUS_DDL, reportCsv, syncReport } from '@registo/projections';
import { RegistoError } from '@registo/schemas';
import type { ApiTokens } from '../auth/tokens.js';
import { redriveSyncs } from './redrive.js';
import { parseJsonBody } from '../http/json-body.js';
import { querySchema } from '../http/request-schema.js';

export interface SyncRouteDeps {
  store: EventStore;
  db: SqlDriver;
  /** Opens a mismatch's sealed values and re-seals the identity record an ACCEPT_EXTERNAL updates. */
  sealer: SubjectSealer;
  tokens: ApiTokens;
  /** HMAC-SHA256 secrets of each integration's webhook (its service account's shared secret). */
  webhookSecrets: Record<SyncSystem, string>;
  /** Applies one announced change (the inbound sync); returns what it did. */
  applyChange(system: SyncSystem, change: ExternalChange, via: 'WEBHOOK'): Promise<string>;
  /** One reconciliation run against the system's bulk export (the sync role's `runReconciliation`); absent: the route is not offered. */
  reconcile?(system: SyncSystem, options: { resolveByRule: boolean; actor: { id: string; role: string } }): Promise<ReconciliationSummary>;
}

/** What a reconciliation run reports over HTTP: counts and the run id, never the differences' values. */
export interface ReconciliationSummary {
  runId: string;
  system: SyncSystem;
  compared: number;
  externalRecords: number;
  differences: number;
  recorded: number;
  resolvedByRule: number;
  cleared: number;
  ruleFailures: Array<{ mismatchId: string; reason: string }>;
}

const SYSTEMS: Record<string, SyncSystem> = { siga: 'SIGA', immigration: 'IMMIGRATION' };

function systemOf(value: string | undefined): SyncSystem {
  const s = SYSTEMS[String(value ?? '').toLowerCase()];
  if (!s) throw new RegistoError('REQUEST_INVALID', `system must be siga or immigration, got ${JSON.stringify(value)}`);
  return s;
}

function signatureValid(secret: string, raw: string, header: string | undefined): boolean {
  if (!secret || !header?.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice(7), 'hex');
  const expected = createHmac('sha256', secret).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const changeSchema = {
  type: 'object',
  required: ['system', 'change'],
  properties: {
    system: { type: 'string' },
    change: {
      type: 'object',
      required: ['seq', 'changeId', 'type', 'uin', 'at', 'details'],
      properties: {
        seq: { type: 'integer' },
        changeId: { type: 'string', minLength: 1, maxLength: 120, pattern: '^[A-Za-z0-9._:-]+$' },
        type: { type: 'string' },
        uin: { type: 'string', minLength: 1 },
        at: { type: 'string' },
        details: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
} as const;

const redriveBody = {
  type: 'object',
  additionalProperties: false,
  properties: { system: { type: 'string', enum: ['siga', 'immigration', 'SIGA', 'IMMIGRATION'] }, syncId: { type: 'string', minLength: 1 } },
} as const;

const reconcileBody = {
  type: 'object',
  additionalProperties: false,
  required: ['system'],
  properties: { system: { type: 'string', enum: ['siga', 'immigration', 'SIGA', 'IMMIGRATION'] }, rules: { type: 'boolean' } },
} as const;

const resolveBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: { action: { type: 'string', enum: [...RESOLUTION_ACTIONS, LEGACY_CLOSE_ACTION] }, note: { type: 'string', maxLength: 2000, textKind: 'free' } },
} as const;

/**
 * External sync over HTTP: the webhooks SIGA and Immigration call (HMAC-signed), redrive of
 * dead-lettered syncs, a reconciliation run on demand, the reconciliation report (JSON or CSV),
 * and an operator's resolution of a mismatch (the mismatch decider says what each action does).
 */
export function registerSyncRoutes(app: FastifyInstance, deps: SyncRouteDeps): void {
  // The signature covers the bytes as sent: this scope keeps the raw body beside the parsed one.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      (request as unknown as { rawBody: string }).rawBody = body as string;
      try {
        done(null, parseJsonBody(body as string));
      } catch (e) {
        done(e as Error, undefined);
      }
    });
    scope.post<{ Params: { system: string }; Body: { system: string; change: ExternalChange } }>(
      '/v1/sync/webhooks/:system',
      {
        schema: { body: changeSchema },
        preValidation: async (request) => {
          const system = systemOf(request.params.system);
          const raw = (request as unknown as { rawBody?: string }).rawBody ?? '';
          if (!signatureValid(deps.webhookSecrets[system], raw, request.headers['x-registo-signature'] as string | undefined)) {
            // A refused authentication like a bad token: logged and counted.
            deps.tokens.refuse(request, { code: 'WEBHOOK_SIGNATURE_INVALID', reason: 'WEBHOOK_SIGNATURE_INVALID', actor: null }, `the ${system} webhook signature does not verify`, { system });
          }
        },
      },
      async (request) => {
        const system = systemOf(request.params.system);
        if (request.body.system !== system) throw new RegistoError('REQUEST_INVALID', `a ${request.body.system} change sent to the ${system} webhook`);
        const outcome = await deps.applyChange(system, request.body.change, 'WEBHOOK');
        return { changeId: request.body.change.changeId, outcome };
      },
    );
  });

  app.post<{ Body: { system?: string; syncId?: string } }>(
    '/v1/sync/redrive',
    { schema: { body: redriveBody }, onRequest: async (request) => void deps.tokens.authorize(request, ['operator']) },
    async (request) => {
      const actor = deps.tokens.authorize(request, ['operator']);
      const body = request.body ?? {};
      return redriveSyncs(deps.store, deps.db, { ...(body.system && { system: systemOf(body.system) }), ...(body.syncId && { syncId: body.syncId }) }, { id: actor.id, role: actor.role });
    },
  );

  const reconcile = deps.reconcile?.bind(deps);
  if (reconcile) {
    // On demand, beside the scheduled runs: `registo reconcile run` calls it.
    app.post<{ Body: { system: string; rules?: boolean } }>(
      '/v1/sync/reconciliations',
      { schema: { body: reconcileBody }, onRequest: async (request) => void deps.tokens.authorize(request, ['operator']) },
      async (request) => {
        const actor = deps.tokens.authorize(request, ['operator']);
        return reconcile(systemOf(request.body.system), { resolveByRule: request.body.rules !== false, actor: { id: actor.id, role: actor.role } });
      },
    );
  }

  app.get<{ Querystring: { system?: string; format?: string } }>('/v1/sync/report', { schema: { querystring: querySchema({ system: { pattern: '^[A-Za-z]{1,32}$' }, format: { pattern: '^[a-z]{1,8}$' } }) } }, async (request, reply) => {
    deps.tokens.authorize(request, ['operator']);
    const system = systemOf(request.query.system);
    const format = request.query.format ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new RegistoError('REQUEST_INVALID', 'format must be json or csv');
    await deps.db.migrate(SYNC_STATUS_DDL);
    const report = await syncReport(deps.db, system);
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportCsv(report));
    return report;
  });

  app.post<{ Params: { mismatchId: string }; Body: { action: string; note?: string } }>(
    '/v1/sync/mismatches/:mismatchId/resolve',
    { schema: { body: resolveBody }, onRequest: async (request) => void deps.tokens.authorize(request, ['operator']) },
    async (request) => {
      const actor = deps.tokens.authorize(request, ['operator']);
      const { mismatchId } = request.params;
      systemOf(mismatchId.split('.')[0]);
      try {
        return await resolveMismatch({ store: deps.store, sealer: deps.sealer }, mismatchId, { action: request.body.action as ResolutionAction, note: request.body.note ?? '' }, { id: actor.id, role: actor.role });
      } catch (e) {
        if (e instanceof CommandRejected && e.reason === 'MISMATCH_NOT_FOUND') throw new RegistoError('NOT_FOUND', `no mismatch ${mismatchId}`);
        throw e;
      }
    },
  );
}

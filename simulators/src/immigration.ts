import type { FastifyInstance } from 'fastify';
import { type SimulatorServerOptions, discrepanciesOf, simulatorAppFor, verificationBodySchema } from './app.js';
import { createPopulation, type Foreigner, type Population, type PopulationOptions } from './population.js';
import { SyncLedger, installSyncRoutes, keptOrUpdated, type LedgerRecord } from './sync-ledger.js';

/** The immigration service: residence permits for foreigners, and checks of claimed demographics. */

export interface ImmigrationServerOptions extends SimulatorServerOptions {
  population?: Population | PopulationOptions;
  /** What Immigration holds about the platform's identities; shared with the caller so tests can read and seed it. */
  ledger?: SyncLedger;
}

export interface ForeignerDemographics {
  givenNames?: string;
  surname?: string;
  dateOfBirth?: string;
  sex?: string;
  /** ISO 3166-1 alpha-3. */
  nationality?: string;
}

export interface ImmigrationVerificationRequest {
  permitNumber: string;
  demographics: ForeignerDemographics;
}

const DEMOGRAPHIC_FIELDS = ['givenNames', 'surname', 'dateOfBirth', 'sex', 'nationality'] as const;

const verificationBody = verificationBodySchema('permitNumber', DEMOGRAPHIC_FIELDS);

function comparable(foreigner: Foreigner): Record<string, string> {
  const { givenNames, surname, dateOfBirth, sex, nationality } = foreigner;
  return { givenNames, surname, dateOfBirth, sex, nationality };
}

export const IMMIGRATION_OPERATIONS = ['IDENTITY_LINKED', 'CREDENTIAL_STATUS'] as const;
export const IMMIGRATION_CREDENTIAL_STATUSES = ['ISSUED', 'SUSPENDED', 'REINSTATED', 'REVOKED'] as const;

const immigrationUpdateSchema = {
  type: 'object',
  required: ['uin', 'permitNumber', 'operation'],
  additionalProperties: false,
  properties: {
    uin: { type: 'string', minLength: 1 },
    permitNumber: { type: 'string', minLength: 1 },
    operation: { type: 'string', enum: [...IMMIGRATION_OPERATIONS] },
    credentialId: { type: 'string' },
    credentialStatus: { type: 'string', enum: [...IMMIGRATION_CREDENTIAL_STATUSES] },
  },
} as const;

export function createImmigrationLedger(population: Population): SyncLedger {
  return new SyncLedger({
    system: 'IMMIGRATION',
    updateSchema: immigrationUpdateSchema,
    changeTypes: ['PERMIT_EXPIRED', 'PERMIT_REVOKED'],
    apply(previous, u) {
      const permitNumber = String(u.permitNumber);
      const keep = keptOrUpdated(previous, u);
      return {
        uin: String(u.uin),
        permitNumber,
        linked: 'true',
        credentialId: keep('credentialId'),
        credentialStatus: keep('credentialStatus'),
        permitStatus: previous?.permitStatus ?? population.findForeigner(permitNumber)?.status ?? 'VALID',
      };
    },
    applyChange(previous, change): LedgerRecord | undefined {
      if (!previous) return undefined;
      return { ...previous, permitStatus: change.type === 'PERMIT_EXPIRED' ? 'EXPIRED' : 'REVOKED' };
    },
  });
}

export function createImmigrationServer(options: ImmigrationServerOptions = {}): FastifyInstance {
  const population =
    options.population && 'findForeigner' in options.population ? options.population : createPopulation(options.population);
  const { app } = simulatorAppFor('IMMIGRATION', options);

  app.get<{ Params: { permitNumber: string } }>('/v1/permits/:permitNumber', async (request, reply) => {
    const foreigner = population.findForeigner(request.params.permitNumber);
    if (!foreigner) return reply.code(404).send({ error: 'Not Found', message: 'no such permit number' });
    return foreigner;
  });

  app.post<{ Body: ImmigrationVerificationRequest }>(
    '/v1/verifications',
    { schema: { body: verificationBody } },
    async (request, reply) => {
      const foreigner = population.findForeigner(request.body.permitNumber);
      if (!foreigner) return reply.code(404).send({ error: 'Not Found', message: 'no such permit number' });
      const discrepancies = discrepanciesOf({ ...request.body.demographics }, comparable(foreigner));
      // The permit's status is the subject's own data, and the one thing enrolment must act on.
      return { match: discrepancies.length === 0, discrepancies, permitStatus: foreigner.status };
    },
  );

  installSyncRoutes(app, options.ledger ?? createImmigrationLedger(population));
  return app;
}

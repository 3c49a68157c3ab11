import type { FastifyInstance } from 'fastify';
import { type SimulatorServerOptions, discrepanciesOf, simulatorAppFor, verificationBodySchema } from './app.js';
import { createPopulation, type Citizen, type Population, type PopulationOptions } from './population.js';
import { SyncLedger, installSyncRoutes, keptOrUpdated, type LedgerRecord } from './sync-ledger.js';

/** SIGA, the civil registry: looks citizens up and checks claimed demographics against its records. */

export interface SigaServerOptions extends SimulatorServerOptions {
  population?: Population | PopulationOptions;
  /** What SIGA holds about the platform's identities; shared with the caller so tests can read and seed it. */
  ledger?: SyncLedger;
}

export interface CitizenDemographics {
  givenNames?: string;
  surname?: string;
  dateOfBirth?: string;
  sex?: string;
  /** District name. */
  placeOfBirth?: string;
  /** Full names, "given names surname". */
  motherName?: string;
  fatherName?: string;
}

export interface SigaVerificationRequest {
  civilRegistryNumber: string;
  demographics: CitizenDemographics;
}

const DEMOGRAPHIC_FIELDS = ['givenNames', 'surname', 'dateOfBirth', 'sex', 'placeOfBirth', 'motherName', 'fatherName'] as const;

const verificationBody = verificationBodySchema('civilRegistryNumber', DEMOGRAPHIC_FIELDS);

function comparable(citizen: Citizen): Record<string, string> {
  return {
    givenNames: citizen.givenNames,
    surname: citizen.surname,
    dateOfBirth: citizen.dateOfBirth,
    sex: citizen.sex,
    placeOfBirth: citizen.placeOfBirth.district,
    motherName: `${citizen.mother.givenNames} ${citizen.mother.surname}`,
    fatherName: `${citizen.father.givenNames} ${citizen.father.surname}`,
  };
}

/** The status SIGA keeps for an identity after each status update the platform sends. */
const SIGA_IDENTITY_STATUS: Record<string, string> = { ENROLLED: 'ACTIVE', UPDATED: 'ACTIVE', ISSUED: 'ACTIVE', DEACTIVATED: 'DEACTIVATED', DECEASED: 'DECEASED' };
export const SIGA_STATUS_UPDATES = Object.keys(SIGA_IDENTITY_STATUS);

/** A status update, strictly: only what the integration agreement lets the platform send. */
const sigaUpdateSchema = {
  type: 'object',
  required: ['uin', 'civilRegistryNumber', 'status'],
  additionalProperties: false,
  properties: {
    uin: { type: 'string', minLength: 1 },
    civilRegistryNumber: { type: 'string', minLength: 1 },
    status: { type: 'string', enum: SIGA_STATUS_UPDATES },
    givenNames: { type: 'string' },
    surname: { type: 'string' },
    dateOfBirth: { type: 'string' },
    sex: { type: 'string', enum: ['M', 'F'] },
    credentialId: { type: 'string' },
  },
} as const;

export function createSigaLedger(population: Population): SyncLedger {
  return new SyncLedger({
    system: 'SIGA',
    updateSchema: sigaUpdateSchema,
    changeTypes: ['DECEASED', 'NAME_CORRECTED'],
    apply(previous, u) {
      const crn = String(u.civilRegistryNumber);
      const citizen = population.findCitizen(crn);
      const keep = keptOrUpdated(previous, u);
      return {
        uin: String(u.uin),
        civilRegistryNumber: crn,
        identityStatus: SIGA_IDENTITY_STATUS[String(u.status)]!,
        lastUpdate: String(u.status),
        givenNames: keep('givenNames'),
        surname: keep('surname'),
        dateOfBirth: keep('dateOfBirth'),
        sex: keep('sex'),
        credentialId: keep('credentialId'),
        civilStatus: previous?.civilStatus ?? citizen?.civilStatus ?? 'ALIVE',
      };
    },
    applyChange(previous, change): LedgerRecord | undefined {
      if (!previous) return undefined;
      if (change.type === 'DECEASED') return { ...previous, civilStatus: 'DECEASED' };
      return { ...previous, ...(change.details.givenNames && { givenNames: change.details.givenNames }), ...(change.details.surname && { surname: change.details.surname }) };
    },
  });
}

export function createSigaServer(options: SigaServerOptions = {}): FastifyInstance {
  const population =
    options.population && 'findCitizen' in options.population ? options.population : createPopulation(options.population);
  const { app } = simulatorAppFor('SIGA', options);

  app.get<{ Params: { civilRegistryNumber: string } }>('/v1/persons/:civilRegistryNumber', async (request, reply) => {
    const citizen = population.findCitizen(request.params.civilRegistryNumber);
    if (!citizen) return reply.code(404).send({ error: 'Not Found', message: 'no such civil-registry number' });
    return citizen;
  });

  app.post<{ Body: SigaVerificationRequest }>('/v1/verifications', { schema: { body: verificationBody } }, async (request, reply) => {
    const citizen = population.findCitizen(request.body.civilRegistryNumber);
    if (!citizen) return reply.code(404).send({ error: 'Not Found', message: 'no such civil-registry number' });
    const discrepancies = discrepanciesOf({ ...request.body.demographics }, comparable(citizen));
    // A deceased person's number must never verify, whatever demographics come with it.
    if (citizen.civilStatus === 'DECEASED') discrepancies.push('civilStatus');
    return { match: discrepancies.length === 0, discrepancies };
  });

  installSyncRoutes(app, options.ledger ?? createSigaLedger(population));
  return app;
}

import type { FastifyInstance } from 'fastify';
import { DEFAULT_SERVICE_TOKEN, createSimulatorApp, discrepanciesOf, verificationBodySchema } from './app.js';
import type { FaultInjector, FaultSettings } from './faults.js';
import { createPopulation, type Citizen, type Population, type PopulationOptions } from './population.js';

/** SIGA, the civil registry: looks citizens up and checks claimed demographics against its records. */

export interface SigaServerOptions {
  population?: Population | PopulationOptions;
  token?: string;
  faults?: Partial<FaultSettings> | FaultInjector;
  logger?: boolean;
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

export function createSigaServer(options: SigaServerOptions = {}): FastifyInstance {
  const population =
    options.population && 'findCitizen' in options.population ? options.population : createPopulation(options.population);
  const { app } = createSimulatorApp({
    system: 'SIGA',
    token: options.token ?? DEFAULT_SERVICE_TOKEN,
    ...(options.faults !== undefined && { faults: options.faults }),
    ...(options.logger !== undefined && { logger: options.logger }),
  });

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

  return app;
}

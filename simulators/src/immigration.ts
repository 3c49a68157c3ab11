import type { FastifyInstance } from 'fastify';
import { DEFAULT_SERVICE_TOKEN, createSimulatorApp, discrepanciesOf, verificationBodySchema } from './app.js';
import type { FaultInjector, FaultSettings } from './faults.js';
import { createPopulation, type Foreigner, type Population, type PopulationOptions } from './population.js';

/** The immigration service: residence permits for foreigners, and checks of claimed demographics. */

export interface ImmigrationServerOptions {
  population?: Population | PopulationOptions;
  token?: string;
  faults?: Partial<FaultSettings> | FaultInjector;
  logger?: boolean;
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

export function createImmigrationServer(options: ImmigrationServerOptions = {}): FastifyInstance {
  const population =
    options.population && 'findForeigner' in options.population ? options.population : createPopulation(options.population);
  const { app } = createSimulatorApp({
    system: 'IMMIGRATION',
    token: options.token ?? DEFAULT_SERVICE_TOKEN,
    ...(options.faults !== undefined && { faults: options.faults }),
    ...(options.logger !== undefined && { logger: options.logger }),
  });

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

  return app;
}

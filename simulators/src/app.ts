import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { FaultInjector, installFaults, type FaultSettings } from './faults.js';

export interface SimulatorAppOptions {
  /** Shown by /health and in logs. */
  system: string;
  /** The service account's bearer token every /v1 request must carry. */
  token: string;
  /**
   * The bearer token every /_admin request must carry: the knobs and what the simulator received
   * (names, registry numbers, dates of birth) are for whoever runs the simulator, not for the
   * service account that calls its API, so the two tokens must differ.
   */
  adminToken?: string;
  /** Initial knobs, or an injector shared with the caller so tests can turn them directly. */
  faults?: Partial<FaultSettings> | FaultInjector;
  logger?: boolean;
}

export interface SimulatorApp {
  app: FastifyInstance;
  faults: FaultInjector;
}

export const DEFAULT_SERVICE_TOKEN = 'registo-simulator-token';
export const DEFAULT_ADMIN_TOKEN = 'registo-simulator-admin-token';

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** What each simulator's server options say about its app: tokens, fault knobs, logging. */
export type SimulatorServerOptions = Partial<Omit<SimulatorAppOptions, 'system'>>;

/** `system`'s app from its server options; the service token defaults to DEFAULT_SERVICE_TOKEN. */
export function simulatorAppFor(system: string, options: SimulatorServerOptions): SimulatorApp {
  return createSimulatorApp({
    system,
    token: options.token ?? DEFAULT_SERVICE_TOKEN,
    ...(options.adminToken !== undefined && { adminToken: options.adminToken }),
    ...(options.faults !== undefined && { faults: options.faults }),
    ...(options.logger !== undefined && { logger: options.logger }),
  });
}

/** The parts both simulators share: faults, admin, health and bearer-token auth on /v1. */
export function createSimulatorApp(options: SimulatorAppOptions): SimulatorApp {
  if (options.token.length === 0) throw new Error('a simulator needs a non-empty service token');
  const adminToken = options.adminToken ?? DEFAULT_ADMIN_TOKEN;
  if (adminToken.length === 0 || adminToken === options.token) throw new Error('a simulator needs a non-empty admin token distinct from its service token');
  // Held (timed-out) requests would otherwise keep close() waiting forever.
  // Unknown fields are refused rather than silently stripped, as a strict government API would.
  const app = Fastify({
    logger: options.logger ?? false,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false } },
  });
  const faults = options.faults instanceof FaultInjector ? options.faults : new FaultInjector(options.faults);
  installFaults(app, faults);

  app.addHook('onRequest', async (request, reply) => {
    const admin = request.url.startsWith('/_admin/');
    if (!admin && !request.url.startsWith('/v1/')) return undefined;
    if (bearerMatches(request.headers.authorization, admin ? adminToken : options.token)) return undefined;
    return reply
      .code(401)
      .header('www-authenticate', `Bearer realm="${options.system}${admin ? ' admin' : ''}"`)
      .send({ error: 'Unauthorized', message: admin ? 'a valid admin bearer token is required' : 'a valid service-account bearer token is required' });
  });

  app.get('/health', async () => ({ status: 'UP', system: options.system }));
  return { app, faults };
}

/** Lower-cases, strips accents and squeezes spaces, so "JOSÉ  da costa" compares equal to "José da Costa". */
export function normalizeText(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Names of the given fields that disagree with the record. Fields the caller left out are not
 * compared; nothing from the record is returned, only field names.
 */
export function discrepanciesOf(given: Record<string, string | undefined>, actual: Record<string, string>): string[] {
  return Object.entries(given)
    .filter(([field, value]) => value !== undefined && normalizeText(value) !== normalizeText(actual[field] ?? ''))
    .map(([field]) => field);
}

/** JSON schema of a verification request: the record's number plus at least one demographic field to compare. */
export function verificationBodySchema(idField: string, fields: readonly string[]) {
  return {
    type: 'object',
    required: [idField, 'demographics'],
    additionalProperties: false,
    properties: {
      [idField]: { type: 'string', minLength: 1 },
      demographics: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        properties: Object.fromEntries(fields.map((f) => [f, { type: 'string' }])),
      },
    },
  } as const;
}

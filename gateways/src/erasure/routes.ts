import type { FastifyInstance } from 'fastify';
import type { EventStore } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { BiometricIdentification } from '@registo/external';
import { eraseIdentity } from '@registo/producers';
import type { ApiTokens } from '../auth/tokens.js';

export interface ErasureRouteDeps {
  store: EventStore;
  sealer: SubjectSealer;
  /** The ABIS the platform enrols into; null when none is configured. */
  abis: BiometricIdentification | null;
  tokens: ApiTokens;
}

const erasureBody = {
  type: 'object',
  additionalProperties: false,
  required: ['legalBasis'],
  properties: {
    legalBasis: { type: 'string', minLength: 3, maxLength: 2000, textKind: 'free' },
    orderRef: { type: 'string', minLength: 1, maxLength: 200, textKind: 'free' },
  },
} as const;

/**
 * `POST /v1/identities/{uin}/erasure` (operator token): the erasure use case, run by the
 * platform that holds the store and reaches the ABIS, so it works while the platform runs.
 * `registo erase` calls it.
 */
export function registerErasureRoutes(app: FastifyInstance, deps: ErasureRouteDeps): void {
  app.post<{ Params: { uin: string }; Body: { legalBasis: string; orderRef?: string } }>(
    '/v1/identities/:uin/erasure',
    { schema: { body: erasureBody }, onRequest: async (request) => void deps.tokens.authorize(request, ['operator']) },
    async (request) => {
      const actor = deps.tokens.authorize(request, ['operator']);
      return eraseIdentity(deps, { uin: request.params.uin, legalBasis: request.body.legalBasis, orderRef: request.body.orderRef ?? null }, actor);
    },
  );
}

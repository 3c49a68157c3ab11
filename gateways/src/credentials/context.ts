import type { FastifyRequest } from 'fastify';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { VcTrustAnchors } from '@registo/credentials';
import type { CredentialIssuerContext } from '@registo/producers';
import type { ApiRole, ApiTokens } from '../auth/tokens.js';
import type { StatusLists } from './status-lists.js';

export interface CredentialRoutesDeps {
  store: EventStore;
  db: SqlDriver;
  sealer: SubjectSealer;
  tokens: ApiTokens;
  /** The identity CA and the issuance services (status lists are signed with the same key). */
  issuer: CredentialIssuerContext;
  /** What verification trusts: the identity CA and the root above it. */
  anchors: VcTrustAnchors;
}

/** What every group of credential routes shares: its ports, the signer mode it names, the status lists, the role guard. */
export interface CredentialRouteContext {
  deps: CredentialRoutesDeps;
  mode: CredentialIssuerContext['mode'];
  lists: StatusLists;
  guard: (roles: readonly ApiRole[]) => { onRequest: (request: FastifyRequest) => Promise<void> };
}

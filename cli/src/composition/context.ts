import type { Logger, Role } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { KeyWrapper, SubjectSealer } from '@registo/crypto';
import type { TrustKeys } from '@registo/trust';
import type { ExternalSyncPort, SyncSystem } from '@registo/external';
import type { RegistoConfig } from '@registo/config';
import type { CredentialIssuerContext } from '@registo/producers';
import type { ApiTokens, RegisteredRoute } from '@registo/gateways';
import type { RunningSimulators } from '@registo/simulators';
import type { DisposalStack } from './disposal-stack.js';
import type { IdentityMacKeys } from './identity-keys.js';
import type { Workers } from './workers.js';

/** The SQL side of the store (PostgreSQL or PGlite): read models, claims, cursors, sealed data. */
export interface SqlSide {
  driver: SqlDriver;
  sealer: SubjectSealer;
}

/** Every key start-up opened, for the roles and the readiness view. */
export interface PlatformKeyring {
  keyWrapper: KeyWrapper;
  identity: IdentityMacKeys;
  /** The registration-client CA certificates intake trusts. */
  trustedCaPems: string[];
  /** The development key file in use, or null (qualified with certificates only). */
  softwareFile: string | null;
}

/** Built by several roles' neighbours: the credential issuer, the pinned audit origin, the sync ports. */
export interface SharedServices {
  credentials: { issuer: CredentialIssuerContext; anchors: { identityCa: TrustKeys['certificates']['identity_ca']['x509']; root: TrustKeys['certificates']['root_ca']['x509'] } } | null;
  /** The log's origin, pinned once (docs/audit.md). */
  auditOrigin: string;
  /** One set of sync ports (rate limits, breakers) for the sync role and on-demand reconciliation. */
  syncPorts: Record<SyncSystem, ExternalSyncPort> | null;
}

/** What every role module is started with. Roles register what they start in `workers` or `stack`. */
export interface PlatformContext {
  readonly config: RegistoConfig;
  readonly logger: Logger;
  readonly stack: DisposalStack;
  readonly workers: Workers;
  readonly eventStore: EventStore;
  readonly sql: SqlSide | null;
  readonly keys: PlatformKeyring;
  readonly trust: TrustKeys;
  readonly tokens: ApiTokens;
  /** Where SIGA, Immigration and the ABIS answer (the in-process simulators' once started). */
  readonly external: RegistoConfig['external'];
  readonly simulators: RunningSimulators | null;
  readonly shared: SharedServices;
  /** Set by the api role once it listens. */
  http: { url: string; routes: readonly RegisteredRoute[] } | null;
}

/** A role's SQL side; `checkRoles` refused the configuration before start-up if there is none. */
export function sqlOf(ctx: PlatformContext, role: Role): SqlSide {
  if (!ctx.sql) throw new Error(`the ${role} role started without a SQL store`);
  return ctx.sql;
}

/** A role's external systems; `checkRoles` refused the configuration before start-up if there are none. */
export function externalOf(ctx: PlatformContext, role: Role): NonNullable<RegistoConfig['external']> {
  if (!ctx.external) throw new Error(`the ${role} role started without external systems`);
  return ctx.external;
}

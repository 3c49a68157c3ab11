import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@registo/base';
import { PGliteDriver, SqlEventStore, type EventStore } from '@registo/event-store';
import { SubjectSealer } from '@registo/crypto';
import { SoftwareIntakeDecrypter, exportIntakePublicJwk } from '@registo/packets';
import { createHolderCertificateIssuer, createTimestamper, openTrustKeys, startStatusServices } from '@registo/trust';
import { AUDIT_TREE_DDL } from '@registo/audit';
import type { BiometricIdentification } from '@registo/external';
import { DEV_API_TOKENS, loadPlatformKeys } from '@registo/config';
import { StatusListAllocator, credentialIssuerContext } from '@registo/producers';
import { SYNC_CURSORS_DDL } from '@registo/consumers';
import { PROJECTIONS, SqlCertificateStatusSource, SqlHolderKeyRegister, credentialStatusProjection } from '@registo/projections';
import {
  ApiTokens,
  createHttpApp,
  registerAdjudicationRoutes,
  registerAuditRoutes,
  registerCredentialRoutes,
  registerErasureRoutes,
  registerHealthRoutes,
  registerIdentityRoutes,
  registerIntakeRoutes,
  registerSyncRoutes,
  registerTrustStatusRoutes,
  registerTsaRoutes,
} from '@registo/gateways';

/** The webhook secret the in-process app checks HMAC signatures with. */
export const GATEWAY_WEBHOOK_SECRET = 'unit-webhook-secret';

/** Every outside call the in-process app made, by the fake that took it. */
export interface GatewayCalls {
  appliedChanges: Array<{ system: string; change: unknown }>;
  reconciliations: string[];
  abisRemoved: string[];
}

export interface GatewayApp {
  app: ReturnType<typeof createHttpApp>;
  store: EventStore;
  calls: GatewayCalls;
  /** What the app logged (JSON lines). */
  logged: string[];
  close(): Promise<void>;
}

/**
 * Every gateway route on one Fastify app, for `app.inject`, over in-process adapters only: the
 * event store and read models on PGlite in memory, software keys and a software CA hierarchy in
 * a temporary directory, and fakes for what the platform would reach over the network (the
 * ABIS erasure calls, the inbound sync and reconciliation). Registered in the order the
 * composition root (cli/src/platform.ts) uses, so the route set is the api role's.
 */
export async function openGatewayApp(): Promise<GatewayApp> {
  const dir = await mkdtemp(join(tmpdir(), 'registo-gateway-'));
  const publicUrl = 'http://127.0.0.1:8080';
  const db = await PGliteDriver.open();
  const store = await SqlEventStore.open(db);
  const keys = await loadPlatformKeys(join(dir, 'keys.json'));
  const sealer = await SubjectSealer.open(db, keys.keyWrapper);
  const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir: dir, publicUrl, ensureSoftwareHierarchy: true });
  const tokens = ApiTokens.parse(DEV_API_TOKENS);
  const logged: string[] = [];
  const calls: GatewayCalls = { appliedChanges: [], reconciliations: [], abisRemoved: [] };
  const abis: BiometricIdentification = {
    identify: async () => ({ matches: [] }),
    verify: async () => ({ outcome: 'NO_REFERENCE', score: null, referenceId: null }),
    remove: async (referenceId) => void calls.abisRemoved.push(referenceId),
  };

  const allocator = new StatusListAllocator(db);
  await migrateReadModels(db, allocator);
  const holderIssuer = await createHolderCertificateIssuer(trust, { publicUrl });
  const issuer = credentialIssuerContext(trust, { store, sealer, allocator, publicUrl, holderIssuer, holderKeys: new SqlHolderKeyRegister(db) });
  const status = new SqlCertificateStatusSource(db);
  const services = await startStatusServices({ trust, status, db, publicUrl, config: {}, logger: createLogger('warn', 'gateway-unit', { write: (l: string) => void logged.push(l) }) });

  const app = createHttpApp(createLogger('info', 'gateway-unit', { write: (line: string) => void logged.push(line) }));
  const intakeTrust = { intakeDecrypter: new SoftwareIntakeDecrypter(keys.intakeKey.privateKey), trustedCaPems: [keys.registrationCa.certificatePem] };
  registerIntakeRoutes(app, { store, db, sealer, trust: intakeTrust, tokens, intakePublicJwk: { ...(await exportIntakePublicJwk(keys.intakeKey)) } });
  registerAdjudicationRoutes(app, { store, db, sealer, tokens });
  registerIdentityRoutes(app, { store, db, indexKey: keys.indexKey, tokens });
  registerErasureRoutes(app, { store, sealer, abis, tokens });
  registerCredentialRoutes(app, { store, db, sealer, tokens, issuer, anchors: { identityCa: trust.certificates.identity_ca.x509, root: trust.certificates.root_ca.x509 } });
  await registerTrustStatusRoutes(app, { trust, status, crl: services.crl, ocsp: services.ocsp });
  const c = trust.certificates;
  registerAuditRoutes(app, {
    db,
    store,
    tokens,
    keys: {
      origin: 'registo.test/unit',
      checkpointSpki: c.checkpoint_signer.x509.publicKey.export({ type: 'spki', format: 'der' }),
      checkpointCertificatePem: c.checkpoint_signer.pem,
      tsaCertificatePem: c.tsa_signer.pem,
      caCertificatePems: [c.identity_ca.pem, c.root_ca.pem],
      signerMode: trust.mode,
    },
  });
  registerSyncRoutesWithFakes(app, { store, db, sealer, tokens }, calls);
  registerTsaRoutes(app, { tsa: createTimestamper(trust) });
  registerHealthRoutes(app, { eventStore: store, describe: () => ({ roles: ['api'], refusals: tokens.refusals.snapshot() }), workersDown: () => [] });
  await app.ready();

  return {
    app,
    store,
    calls,
    logged,
    close: async () => {
      await app.close();
      services.close();
      await holderIssuer.close();
      await trust.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every table the routes read, as the platform's roles would have made them. */
async function migrateReadModels(db: PGliteDriver, allocator: StatusListAllocator): Promise<void> {
  await allocator.migrate();
  await db.migrate(credentialStatusProjection.ddl);
  for (const projection of Object.values(PROJECTIONS)) await db.migrate(projection.ddl);
  await db.migrate(AUDIT_TREE_DDL);
  await db.migrate(SYNC_CURSORS_DDL);
}

/** The sync routes, with the inbound change and the reconciliation they start recorded in `calls` instead of run. */
function registerSyncRoutesWithFakes(app: ReturnType<typeof createHttpApp>, deps: Pick<Parameters<typeof registerSyncRoutes>[1], 'store' | 'db' | 'sealer' | 'tokens'>, calls: GatewayCalls): void {
  registerSyncRoutes(app, {
    ...deps,
    webhookSecrets: { SIGA: GATEWAY_WEBHOOK_SECRET, IMMIGRATION: GATEWAY_WEBHOOK_SECRET },
    applyChange: async (system, change) => {
      calls.appliedChanges.push({ system, change });
      return 'applied';
    },
    reconcile: async (system) => {
      calls.reconciliations.push(system);
      return { runId: `run-${calls.reconciliations.length}`, system, compared: 0, externalRecords: 0, differences: 0, recorded: 0, resolvedByRule: 0, cleared: 0, ruleFailures: [] };
    },
  });
}

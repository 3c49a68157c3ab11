import { startStatusServices } from '@registo/trust';
import { parseWitnessKey } from '@registo/audit';
import { AbisHttpConnector } from '@registo/external';
import { SqlCertificateStatusSource } from '@registo/projections';
import { createInboundSync, runReconciliation } from '@registo/consumers';
import {
  type createHttpApp,
  registerAdjudicationRoutes,
  registerAuditRoutes,
  registerCredentialRoutes,
  registerErasureRoutes,
  registerIdentityRoutes,
  registerIntakeRoutes,
  registerSyncRoutes,
  registerTrustStatusRoutes,
} from '@registo/gateways';
import type { PlatformContext, SqlSide } from '../composition/context.js';

type App = ReturnType<typeof createHttpApp>;

/** Intake, adjudication, the identity register, erasure and credentials: the routes over the SQL side. */
export function registerRecordRoutes(app: App, ctx: PlatformContext, { driver: db, sealer }: SqlSide): void {
  const { eventStore: store, tokens, keys, external } = ctx;
  const intakeTrust = { intakeDecrypter: keys.identity.intake.decrypter, trustedCaPems: keys.trustedCaPems };
  registerIntakeRoutes(app, { store, db, sealer, trust: intakeTrust, tokens, intakePublicJwk: keys.identity.intake.publicJwk });
  registerAdjudicationRoutes(app, { store, db, sealer, tokens });
  registerIdentityRoutes(app, { store, db, indexKey: keys.identity.indexKey, tokens });
  // Erasure reaches the ABIS the platform enrols into (the in-process simulator when embedded).
  const abis = external ? new AbisHttpConnector({ baseUrl: external.abisUrl, token: external.token, timeoutMs: external.timeoutMs }) : null;
  registerErasureRoutes(app, { store, sealer, abis, tokens });
  const credentials = ctx.shared.credentials!;
  registerCredentialRoutes(app, { store, db, sealer, tokens, issuer: credentials.issuer, anchors: credentials.anchors });
}

/** OCSP and CRLs answer from the credential read model: only approved status changes count. */
export async function registerStatusRoutes(app: App, ctx: PlatformContext, { driver }: SqlSide): Promise<void> {
  const { trust, config } = ctx;
  const status = new SqlCertificateStatusSource(driver);
  const services = await startStatusServices({ trust, status, db: driver, publicUrl: config.publicUrl, config: config.statusServices, logger: ctx.logger });
  ctx.workers.add({ name: 'trust:status', stop: async () => services.close(), describe: () => ({ source: 'credential_status' }) });
  await registerTrustStatusRoutes(app, { trust, status, crl: services.crl, ocsp: services.ocsp });
}

/** The auditor's API: checkpoints, proofs, the export, with the keys that verify them. */
export function registerAuditorRoutes(app: App, ctx: PlatformContext, { driver: db }: SqlSide): void {
  const { trust, config } = ctx;
  const c = trust.certificates;
  registerAuditRoutes(app, {
    db,
    store: ctx.eventStore,
    tokens: ctx.tokens,
    keys: {
      origin: ctx.shared.auditOrigin,
      checkpointSpki: c.checkpoint_signer.x509.publicKey.export({ type: 'spki', format: 'der' }),
      checkpointCertificatePem: c.checkpoint_signer.pem,
      tsaCertificatePem: c.tsa_signer.pem,
      caCertificatePems: [c.identity_ca.pem, c.root_ca.pem],
      signerMode: trust.mode,
    },
    witnesses: config.audit.witnessKeys.map(parseWitnessKey),
  });
}

/** Webhooks, redrive, report: changes are applied here even when the sync role runs elsewhere. */
export function registerExternalSyncRoutes(app: App, ctx: PlatformContext, { driver: db, sealer }: SqlSide): void {
  const external = ctx.external;
  const ports = ctx.shared.syncPorts;
  if (!external || !ports) return;
  const { eventStore: store, config, logger } = ctx;
  const inbound = createInboundSync({ store, sealer, db, logger });
  registerSyncRoutes(app, {
    store,
    db,
    sealer,
    tokens: ctx.tokens,
    webhookSecrets: { SIGA: config.sync.sigaToken ?? external.token, IMMIGRATION: config.sync.immigrationToken ?? external.token },
    applyChange: (system, change, via) => inbound.apply(system, change, via),
    reconcile: async (system, options) => {
      const { differences, ...summary } = await runReconciliation(system, { store, db, sealer, port: ports[system], logger }, options);
      return { ...summary, differences: differences.length };
    },
  });
}

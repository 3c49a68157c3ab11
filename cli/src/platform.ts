import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AUDIT_TREE_DDL,
  pinLogOrigin,
  AbisHttpConnector,
  Pkcs11KeyWrapper,
  Pkcs11Token,
  type KeyWrapper,
  ImmigrationHttpConnector,
  SigaHttpConnector,
  StreamParallelConsumer,
  SubjectSealer,
  loadPlatformKeys,
  loadQualifiedIntakeTrust,
  lockDataDir,
  Pkcs11IntakeDecrypter,
  SoftwareIntakeDecrypter,
  INTAKE_KEY_LABEL,
  exportIntakePublicJwk,
  type IntakeDecrypter,
  type PlatformKeys,
  openTrustKeys,
  createHolderCertificateIssuer,
  loadStatusServicesConfig,
  startStatusServices,
  parseWitnessKey,
  createTimestamper,
  HMAC_KEYS,
  Pkcs11MacKey,
  type MacKeyLike,
  type TrustKeys,
  type EventSource,
  type EventStore,
  type Logger,
  type RegistoConfig,
  type SqlDriver,
  EnvelopeCodec,
  KafkaDeadLetterSink,
  KafkaEventSource,
  SqlConsumer,
  SqlDeadLetterSink,
  SqlEventStore,
  StoreEventSource,
  maskSecrets,
  openEventStore,
  openSqlDriver,
  type WorkerHealth,
  supervise,
} from '@registo/infra';
import { type CredentialIssuerContext, DEFAULT_UIN_POLICY, Mirror, StatusListAllocator, credentialIssuerContext } from '@registo/producers';
import { PROJECTIONS, SqlCertificateStatusSource, SqlHolderKeyRegister, credentialStatusProjection } from '@registo/projections';
import { Checkpointer, SyncService, createCredentialIssuance, createEnrollmentProcess, runReconciliation } from '@registo/consumers';
import {
  ApiTokens,
  createHttpApp,
  registerAdjudicationRoutes,
  registerCredentialRoutes,
  registerTrustStatusRoutes,
  registerHealthRoutes,
  registerIdentityRoutes,
  registerIntakeRoutes,
  registerAuditRoutes,
  registerErasureRoutes,
  registerSyncRoutes,
  registerTsaRoutes,
  registeredRoutes,
  type RegisteredRoute,
} from '@registo/gateways';
import { startSimulators, type RunningSimulators } from '@registo/simulators';
import { syncPorts } from './sync-wiring.js';
import { startupSummary } from './startup-summary.js';
import { RegistoError } from '@registo/schemas';

export interface RunningPlatform {
  /** Where the HTTP server listens (when the api role runs), e.g. http://127.0.0.1:8080 */
  url: string | null;
  /** Where SIGA, Immigration and the ABIS answer (the in-process simulators' addresses when they run). */
  external: RegistoConfig['external'];
  eventStore: EventStore;
  /** The CA hierarchy's signers and certificates (software keys in non_qualified mode, the token's in qualified). */
  trust: TrustKeys;
  /** Every HTTP route the api role registered (empty when it does not run). */
  routes: readonly RegisteredRoute[];
  close(): Promise<void>;
}

interface Worker {
  name: string;
  stop(): Promise<void>;
  describe(): Record<string, unknown>;
  /** Supervised workers: their state, for readiness. */
  health?: () => WorkerHealth;
}

/** The key-encryption key's label on the token, created by `registo keys init`. */
export const KEK_LABEL = 'registo-kek';

/**
 * Qualified mode: the KEK is the token's, and there is no software fallback — a missing token,
 * wrong PIN or missing key stops start-up with a message saying which. Non-qualified: the
 * development key file's software KEK.
 */
export async function openKeyWrapper(config: RegistoConfig, software: KeyWrapper | null): Promise<KeyWrapper> {
  if (config.signer.mode !== 'qualified') return software!;
  const p = config.signer.pkcs11!;
  const token = await Pkcs11Token.open({ module: p.module, tokenLabel: p.tokenLabel, userPin: p.userPin, env: p.env });
  try {
    return await Pkcs11KeyWrapper.open(token, KEK_LABEL, { ownsToken: true });
  } catch (e) {
    await token.close();
    if (e instanceof RegistoError && e.code === 'CONFIG_INVALID') {
      throw new RegistoError('CONFIG_INVALID', `${e.message}; run \`registo keys init\` with the same PKCS#11 settings first`, e.details);
    }
    throw e;
  }
}

/** The intake key: where packets are decrypted, and the public JWK registration clients encrypt to. */
interface IntakeKeyRef {
  decrypter: IntakeDecrypter;
  publicJwk: Record<string, unknown>;
}

/**
 * The blind-index, UIN and intake keys: in qualified mode the token's HMAC keys and its
 * `registo-intake` ECDH key (made by `registo keys init`; no key file's are used, and no intake
 * key file is written), otherwise the development key file's.
 */
async function openIdentityMacKeys(config: RegistoConfig, software: PlatformKeys | null): Promise<{ indexKey: MacKeyLike; uinKey: MacKeyLike; intake: IntakeKeyRef; close(): Promise<void> }> {
  if (config.signer.mode !== 'qualified') {
    const intake = { decrypter: new SoftwareIntakeDecrypter(software!.intakeKey.privateKey), publicJwk: { ...(await exportIntakePublicJwk(software!.intakeKey)) } };
    return { indexKey: software!.indexKey, uinKey: software!.uinKey, intake, close: async () => undefined };
  }
  const p = config.signer.pkcs11!;
  const token = await Pkcs11Token.open({ module: p.module, tokenLabel: p.tokenLabel, userPin: p.userPin, env: p.env });
  try {
    const [indexKey, uinKey] = await Promise.all(HMAC_KEYS.map((k) => Pkcs11MacKey.open(token, k.label)));
    const decrypter = await Pkcs11IntakeDecrypter.open(token, INTAKE_KEY_LABEL);
    return { indexKey: indexKey!, uinKey: uinKey!, intake: { decrypter, publicJwk: decrypter.publishedJwk }, close: () => token.close() };
  } catch (e) {
    await token.close();
    throw e;
  }
}

/** The composition root: opens the event store, starts the configured roles. */
export async function startPlatform(config: RegistoConfig, logger: Logger): Promise<RunningPlatform> {
  logger.info({ config: maskSecrets(config) }, 'configuration');
  let driver: SqlDriver | null = null;
  let eventStore: EventStore;
  if (config.eventStore.kind === 'eventstoredb') eventStore = await openEventStore(config.eventStore);
  else {
    driver = await openSqlDriver(config.eventStore);
    eventStore = await SqlEventStore.open(driver);
  }
  const workers: Worker[] = [];
  // Qualified mode with the registration-client CAs given by certificate needs no development key
  // file: only the intake key (docs/trust-services.md, "What a qualified platform keeps in files").
  const keys =
    config.signer.mode === 'qualified' && config.registrationCaCertificates
      ? await loadQualifiedIntakeTrust(config.registrationCaCertificates)
      : await loadPlatformKeys(config.keysFile);
  const softwareKeys = keys.label === 'qualified' ? null : keys;
  const trustedCaPems = keys.label === 'qualified' ? keys.trustedCaPems : [keys.registrationCa.certificatePem];
  const keyWrapper = await openKeyWrapper(config, softwareKeys?.keyWrapper ?? null);
  if (keyWrapper.kind === 'software') logger.warn({ file: softwareKeys?.file, created: softwareKeys?.created, label: keys.label }, 'identity keys are software keys (non-qualified)');
  else if (softwareKeys) logger.warn({ file: softwareKeys.file }, 'qualified: the development key file still supplies the registration-client CA (with its private key); set REGISTO_REGISTRATION_CA_CERTS to trust registration CAs by certificate only');
  else logger.info({ kek: keyWrapper.kekId }, 'personal data keys are wrapped inside the PKCS#11 token (qualified)');
  const sealer = driver ? await SubjectSealer.open(driver, keyWrapper) : null;
  try {
    await sealer?.assertKekOpensStoredKeys(softwareKeys && keyWrapper.kind === 'software' ? `the key file ${softwareKeys.file}` : `the PKCS#11 token's ${KEK_LABEL}`);
  } catch (e) {
    if (keyWrapper instanceof Pkcs11KeyWrapper) await keyWrapper.close();
    await eventStore.close();
    throw e;
  }
  // The hierarchy every trust service signs with. A bare machine gets labelled software keys; a
  // qualified platform needs `registo keys init` to have been run on its token.
  let trust: TrustKeys;
  try {
    trust = await openTrustKeys({ signer: config.signer, dataDir: config.dataDir, publicUrl: config.publicUrl, ensureSoftwareHierarchy: true });
  } catch (e) {
    if (keyWrapper instanceof Pkcs11KeyWrapper) await keyWrapper.close();
    await eventStore.close();
    throw e;
  }
  // After the hierarchy, so that a token without a ceremony is reported by its first missing piece.
  let macKeys: Awaited<ReturnType<typeof openIdentityMacKeys>>;
  try {
    macKeys = await openIdentityMacKeys(config, softwareKeys);
  } catch (e) {
    await trust.close();
    if (keyWrapper instanceof Pkcs11KeyWrapper) await keyWrapper.close();
    await eventStore.close();
    throw e;
  }
  logger.info({ mode: trust.mode, policyOid: trust.policyOid, trustDir: trust.trustDir }, `trust services sign ${trust.mode === 'qualified' ? 'inside the PKCS#11 token (qualified)' : 'with software keys (non-qualified)'}`);
  const tokens = ApiTokens.parse(config.apiTokens);
  const summary = startupSummary(config, softwareKeys?.file ?? null);
  logger[summary.level](summary.fields, summary.message);

  let external = config.external;
  let sims: RunningSimulators | undefined;
  if (config.simulators) {
    // They stand in for systems that keep what they were told: the ABIS its gallery (or
    // de-duplication forgets everyone enrolled before a restart), SIGA and Immigration their
    // records. One process journals a state directory at a time (on PostgreSQL the data dir
    // itself is not locked by the store).
    const stateDir = join(config.dataDir, 'simulators');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const stateLock = await lockDataDir(stateDir);
    try {
      sims = await startSimulators({ ...config.simulators, host: '127.0.0.1', stateDir });
    } catch (e) {
      await stateLock.release();
      throw e;
    }
    logger.info({ siga: sims.sigaUrl, immigration: sims.immigrationUrl, abis: sims.abisUrl, stateDir }, 'SIGA, Immigration and ABIS simulators started');
    external = { sigaUrl: sims.sigaUrl, immigrationUrl: sims.immigrationUrl, abisUrl: sims.abisUrl, token: sims.token, timeoutMs: config.externalTimeoutMs };
    const running = sims;
    workers.push({ name: 'simulators', stop: () => running.close().finally(() => stateLock.release()), describe: () => ({ siga: running.sigaUrl, immigration: running.immigrationUrl, abis: running.abisUrl }) });
  }

  if (config.roles.includes('mirror') && config.kafka) {
    const mirror = new Mirror({ store: eventStore, settings: config.kafka, logger });
    const s = supervise('mirror', logger, () => mirror.run(), () => mirror.stop());
    workers.push({ name: 'mirror', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...mirror.status(), ...s.health() }) });
  }

  if (config.roles.includes('projector')) {
    if (!driver) throw new Error('the projector role keeps read models in SQL: set DATABASE_URL (or run embedded)');
    const db = driver;
    // One consumer per read model: each has its own offsets, dead letters and restarts.
    for (const projection of Object.values(PROJECTIONS)) {
      const source = (): EventSource =>
        config.kafka
          ? new KafkaEventSource(config.kafka, new EnvelopeCodec(config.kafka.registryUrl, config.kafka.prefix), eventStore, { logger })
          : new StoreEventSource(eventStore);
      const sink = config.kafka ? new KafkaDeadLetterSink(config.kafka, logger) : new SqlDeadLetterSink(db);
      let consumer: SqlConsumer | undefined;
      const s = supervise(
        `projector:${projection.name}`,
        logger,
        () => (consumer = new SqlConsumer(db, projection, source(), sink, { logger })).run(),
        async () => {
          await consumer?.stop();
          await sink.close();
        },
      );
      workers.push({
        name: `projector:${projection.name}`,
        stop: () => s.stop(),
        health: () => s.health(),
        describe: () => ({ projection: projection.name, ...consumer?.stats, ...s.health() }),
      });
    }
  }

  if (config.roles.includes('process')) {
    if (!driver || !sealer) throw new Error('the process role keeps its claims in SQL: set DATABASE_URL (or run embedded)');
    if (!external) {
      throw new RegistoError(
        'CONFIG_INVALID',
        'the process role calls SIGA, Immigration and the ABIS: set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN, or REGISTO_SIMULATORS=on',
        { problems: ['external systems not configured'] },
      );
    }
    const db = driver;
    const ext = external;
    const connector = { token: ext.token, timeoutMs: ext.timeoutMs };
    const handler = createEnrollmentProcess({
      store: eventStore,
      db,
      sealer,
      siga: new SigaHttpConnector({ baseUrl: ext.sigaUrl, ...connector }),
      immigration: new ImmigrationHttpConnector({ baseUrl: ext.immigrationUrl, ...connector }),
      abis: new AbisHttpConnector({ baseUrl: ext.abisUrl, ...connector }),
      indexKey: macKeys.indexKey,
      uinKey: macKeys.uinKey,
      uinPolicy: { ...DEFAULT_UIN_POLICY, length: config.uinLength },
      logger,
    });
    await handler.migrate();
    // Enrollments on different partitions never share a stream: the process takes them all at once.
    const source = (): EventSource =>
      config.kafka
        ? new KafkaEventSource(config.kafka, new EnvelopeCodec(config.kafka.registryUrl, config.kafka.prefix), eventStore, { logger, partitionsConsumedConcurrently: config.kafka.partitions })
        : new StoreEventSource(eventStore);
    const sink = config.kafka ? new KafkaDeadLetterSink(config.kafka, logger) : new SqlDeadLetterSink(db);
    let consumer: StreamParallelConsumer | undefined;
    const s = supervise(
      'process:enrollment',
      logger,
      () => (consumer = new StreamParallelConsumer(db, handler, source(), sink, { logger, concurrency: 32 })).run(),
      async () => {
        await consumer?.stop();
        await sink.close();
      },
    );
    workers.push({ name: 'process:enrollment', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...consumer?.stats, ...s.health() }) });
  }

  // Credentials: VCs and holder certificates signed by the identity CA. The credentials role
  // issues a VC per identity event and revokes on DECEASED/BLOCKED; the api serves them.
  let credentialIssuer: CredentialIssuerContext | undefined;
  const credentialAnchors = { identityCa: trust.certificates.identity_ca.x509, root: trust.certificates.root_ca.x509 };
  if (driver && sealer) {
    const allocator = new StatusListAllocator(driver);
    await allocator.migrate();
    const holderIssuer = await createHolderCertificateIssuer(trust, { publicUrl: config.publicUrl });
    workers.push({ name: 'credentials:holder-issuer', stop: () => holderIssuer.close(), describe: () => ({ mode: holderIssuer.mode }) });
    // The credential read model says which UINs a holder key is already certified for.
    await driver.migrate(credentialStatusProjection.ddl);
    credentialIssuer = credentialIssuerContext(trust, { store: eventStore, sealer, allocator, publicUrl: config.publicUrl, holderIssuer, holderKeys: new SqlHolderKeyRegister(driver) });
  }
  if (config.roles.includes('credentials')) {
    if (!driver || !credentialIssuer) throw new Error('the credentials role keeps its status-list places in SQL: set DATABASE_URL (or run embedded)');
    const db = driver;
    const handler = createCredentialIssuance(credentialIssuer, logger);
    const source = (): EventSource =>
      config.kafka ? new KafkaEventSource(config.kafka, new EnvelopeCodec(config.kafka.registryUrl, config.kafka.prefix), eventStore, { logger }) : new StoreEventSource(eventStore);
    const sink = config.kafka ? new KafkaDeadLetterSink(config.kafka, logger) : new SqlDeadLetterSink(db);
    let consumer: StreamParallelConsumer | undefined;
    const s = supervise('credentials:issuance', logger, () => (consumer = new StreamParallelConsumer(db, handler, source(), sink, { logger, concurrency: 16 })).run(), async () => {
      await consumer?.stop();
      await sink.close();
    });
    workers.push({ name: 'credentials:issuance', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...consumer?.stats, ...s.health() }) });
  }
  // OCSP and CRLs answer from the credential read model: only approved status changes count.
  let registerStatusRoutes: ((app: ReturnType<typeof createHttpApp>) => Promise<void>) | undefined;
  if (driver && config.roles.includes('api')) {
    await driver.migrate(credentialStatusProjection.ddl);
    const status = new SqlCertificateStatusSource(driver);
    const services = await startStatusServices({ trust, status, db: driver, publicUrl: config.publicUrl, config: loadStatusServicesConfig(), logger });
    workers.push({ name: 'trust:status', stop: async () => services.close(), describe: () => ({ source: 'credential_status' }) });
    registerStatusRoutes = (app) => registerTrustStatusRoutes(app, { trust, status, crl: services.crl, ocsp: services.ocsp });
  }
  // The log's origin is pinned once (docs/audit.md): a restart under another public URL keeps it,
  // so the checkpointer, the published key name, the export and the health view agree.
  let auditOrigin = config.audit.origin;
  if (driver && (config.roles.includes('checkpointer') || config.roles.includes('api'))) {
    await driver.migrate(AUDIT_TREE_DDL);
    auditOrigin = await pinLogOrigin(driver, eventStore, { origin: config.audit.origin, explicit: config.audit.originExplicit }, logger);
  }
  if (config.roles.includes('checkpointer')) {
    if (!driver) throw new Error('the checkpointer keeps the Merkle tree in SQL: set DATABASE_URL (or run embedded)');
    const db = driver;
    // Checkpoints are signed with the hierarchy's checkpoint key (the token's in qualified mode).
    let checkpointer: Checkpointer | undefined;
    const s = supervise(
      'checkpointer',
      logger,
      () =>
        (checkpointer = new Checkpointer({
          store: eventStore,
          db,
          signer: trust.signers.checkpoint_signer,
          origin: auditOrigin,
          // Each checkpoint's note is timestamped by the platform's own RFC 3161 authority.
          timestamper: createTimestamper(trust),
          cadence: { every: config.audit.checkpointEvery, intervalMs: config.audit.checkpointIntervalMs },
          logger,
        })).run(),
      async () => checkpointer?.stop(),
    );
    workers.push({ name: 'checkpointer', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...checkpointer?.status(), origin: auditOrigin, ...s.health() }) });
  }
  // External sync (docs/sync.md): outbound consumers per system, change-feed polling, scheduled reconciliation.
  let syncService: SyncService | undefined;
  // One set of sync ports (rate limits, breakers) for the sync role and the on-demand reconciliation.
  const ports = external ? syncPorts(external, config.sync) : null;
  if (config.roles.includes('sync')) {
    if (!driver || !sealer) throw new Error('the sync role keeps its cursors in SQL: set DATABASE_URL (or run embedded)');
    if (!external) throw new RegistoError('CONFIG_INVALID', 'the sync role calls SIGA and Immigration: set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN, or REGISTO_SIMULATORS=on', { problems: ['external systems not configured'] });
    const service = new SyncService({ store: eventStore, db: driver, sealer, ports: ports!, kafka: config.kafka, retryDelaysMs: config.sync.retryDelaysMs, pollMs: config.sync.pollMs, reconcileIntervalMs: config.sync.reconcileIntervalMs, sessionTimeoutMs: config.sync.sessionTimeoutMs, logger });
    syncService = service;
    const s = supervise('sync', logger, () => service.run(), () => service.stop());
    workers.push({ name: 'sync', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...service.status(), ...s.health() }) });
  }

  let url: string | null = null;
  let app: ReturnType<typeof createHttpApp> | undefined;
  if (config.roles.includes('api')) {
    app = createHttpApp(logger);
    const startedAt = new Date().toISOString();
    if (driver && sealer) {
      const db = driver;
      // The API reads these read models; it may start before their projector has run once.
      for (const projection of Object.values(PROJECTIONS)) await db.migrate(projection.ddl);
      const intakeTrust = { intakeDecrypter: macKeys.intake.decrypter, trustedCaPems };
      registerIntakeRoutes(app, { store: eventStore, sealer, trust: intakeTrust, tokens, intakePublicJwk: macKeys.intake.publicJwk });
      registerAdjudicationRoutes(app, { store: eventStore, db, sealer, tokens });
      registerIdentityRoutes(app, { store: eventStore, db, indexKey: macKeys.indexKey, tokens });
      // Erasure reaches the ABIS the platform enrols into (the in-process simulator when embedded).
      const abis = external ? new AbisHttpConnector({ baseUrl: external.abisUrl, token: external.token, timeoutMs: external.timeoutMs }) : null;
      registerErasureRoutes(app, { store: eventStore, sealer, abis, tokens });
      registerCredentialRoutes(app, { store: eventStore, db, sealer, tokens, issuer: credentialIssuer!, anchors: credentialAnchors });
      await registerStatusRoutes?.(app);
      const c = trust.certificates;
      await db.migrate(AUDIT_TREE_DDL);
      registerAuditRoutes(app, {
        db,
        store: eventStore,
        tokens,
        keys: {
          origin: auditOrigin,
          checkpointSpki: c.checkpoint_signer.x509.publicKey.export({ type: 'spki', format: 'der' }),
          checkpointCertificatePem: c.checkpoint_signer.pem,
          tsaCertificatePem: c.tsa_signer.pem,
          caCertificatePems: [c.identity_ca.pem, c.root_ca.pem],
          signerMode: trust.mode,
        },
        witnesses: config.audit.witnessKeys.map(parseWitnessKey),
      });
      if (external) {
        // Webhooks, redrive, report: changes are applied here even when the sync role runs elsewhere.
        const systemPorts = ports!;
        const inbound = syncService?.inbound ?? new SyncService({ store: eventStore, db, sealer, ports: systemPorts, kafka: null, retryDelaysMs: [], pollMs: 0, reconcileIntervalMs: 0 }).inbound;
        await inbound.migrate();
        registerSyncRoutes(app, {
          store: eventStore,
          db,
          sealer,
          tokens,
          webhookSecrets: { SIGA: config.sync.sigaToken ?? external.token, IMMIGRATION: config.sync.immigrationToken ?? external.token },
          applyChange: (system, change, via) => inbound.apply(system, change, via),
          reconcile: async (system, options) => {
            const { differences, ...summary } = await runReconciliation(system, { store: eventStore, db, sealer, port: systemPorts[system], logger }, options);
            return { ...summary, differences: differences.length };
          },
        });
      }
    }
    // RFC 3161 timestamps, signed by the hierarchy's TSA key (the token's in qualified mode).
    registerTsaRoutes(app, { tsa: createTimestamper(trust) });
    registerHealthRoutes(app, {
      eventStore,
      describe: () => ({
        startedAt,
        roles: config.roles,
        eventStoreTarget: config.eventStore.kind,
        signer: { mode: config.signer.mode, kek: keyWrapper.kekId, kekKind: keyWrapper.kind, policyOid: trust.policyOid, hmacKeys: [macKeys.indexKey, macKeys.uinKey].map((k) => (Buffer.isBuffer(k) ? 'software' : k.keyId)), intakeKey: macKeys.intake.decrypter.keyRef },
        workers: Object.fromEntries(workers.map((w) => [w.name, w.describe()])),
        // Refused authentications and authorizations since start (each is also logged as "request refused").
        refusals: tokens.refusals.snapshot(),
      }),
      workersDown: () =>
        workers.flatMap((w) => {
          const h = w.health?.();
          return h && (h.state === 'restarting' || h.state === 'failed') ? [{ name: w.name, state: h.state, ...(h.lastError && { cause: h.lastError.code }) }] : [];
        }),
    });
    try {
      url = await app.listen({ port: config.http.port, host: config.http.host });
      // The in-process simulators push their changes to this platform's webhooks.
      if (sims && external) {
        sims.sigaLedger.webhook = { url: `${url}/v1/sync/webhooks/siga`, secret: config.sync.sigaToken ?? external.token, copies: 1, delayMs: 0 };
        sims.immigrationLedger.webhook = { url: `${url}/v1/sync/webhooks/immigration`, secret: config.sync.immigrationToken ?? external.token, copies: 1, delayMs: 0 };
      }
    } catch (e) {
      await Promise.allSettled(workers.map((w) => w.stop()));
      await eventStore.close();
      throw e;
    }
  }
  logger.info({ url, roles: config.roles, eventStore: eventStore.info.adapter, headPosition: await eventStore.headPosition() }, 'registo ready');
  let closing: Promise<void> | undefined;
  return {
    url,
    external,
    eventStore,
    trust,
    routes: app ? registeredRoutes(app) : [],
    close: () =>
      (closing ??= (async () => {
        await app?.close();
        await Promise.allSettled(workers.map((w) => w.stop()));
        await eventStore.close();
        await trust.close();
        await macKeys.close();
        if (keyWrapper instanceof Pkcs11KeyWrapper) await keyWrapper.close();
        logger.info('registo stopped');
      })()),
  };
}

import {
  AbisHttpConnector,
  Pkcs11KeyWrapper,
  Pkcs11Token,
  type KeyWrapper,
  ImmigrationHttpConnector,
  SigaHttpConnector,
  StreamParallelConsumer,
  SubjectSealer,
  loadPlatformKeys,
  openTrustKeys,
  createTimestamper,
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
} from '@registo/infra';
import { DEFAULT_UIN_POLICY, Mirror } from '@registo/producers';
import { PROJECTIONS } from '@registo/projections';
import { createEnrollmentProcess, SyncService } from '@registo/consumers';
import {
  ApiTokens,
  createHttpApp,
  registerAdjudicationRoutes,
  registerHealthRoutes,
  registerIdentityRoutes,
  registerIntakeRoutes,
  registerSyncRoutes,
  registerTsaRoutes,
} from '@registo/gateways';
import { startSimulators, type RunningSimulators } from '@registo/simulators';
import { syncPorts } from './sync-wiring.js';
import { RegistoError } from '@registo/schemas';

export interface RunningPlatform {
  /** Where the HTTP server listens (when the api role runs), e.g. http://127.0.0.1:8080 */
  url: string | null;
  /** Where SIGA, Immigration and the ABIS answer (the in-process simulators' addresses when they run). */
  external: RegistoConfig['external'];
  eventStore: EventStore;
  /** The CA hierarchy's signers and certificates (software keys in non_qualified mode, the token's in qualified). */
  trust: TrustKeys;
  close(): Promise<void>;
}

interface Worker {
  name: string;
  stop(): Promise<void>;
  describe(): Record<string, unknown>;
}

/** Keeps a role running: restarts it with back-off when it fails, until the platform stops. */
function supervise(name: string, logger: Logger, run: () => Promise<void>, stop: () => Promise<void>): { stop(): Promise<void>; restarts(): number } {
  let stopping = false;
  let restarts = 0;
  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        await run();
        if (!stopping) logger.warn({ role: name }, 'role ended; restarting');
      } catch (e) {
        if (stopping) break;
        logger.error({ role: name, err: e }, 'role failed; restarting');
      }
      restarts++;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** Math.min(restarts, 6))));
    }
  };
  const done = loop();
  return {
    restarts: () => restarts,
    async stop() {
      stopping = true;
      await stop().catch(() => undefined);
      await done;
    },
  };
}

/** The key-encryption key's label on the token, created by `registo keys init`. */
export const KEK_LABEL = 'registo-kek';

/**
 * Qualified mode: the KEK is the token's, and there is no software fallback — a missing token,
 * wrong PIN or missing key stops start-up with a message saying which. Non-qualified: the
 * development key file's software KEK.
 */
export async function openKeyWrapper(config: RegistoConfig, software: KeyWrapper): Promise<KeyWrapper> {
  if (config.signer.mode !== 'qualified') return software;
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
  const keys = await loadPlatformKeys(config.keysFile);
  const keyWrapper = await openKeyWrapper(config, keys.keyWrapper);
  if (keyWrapper.kind === 'software') logger.warn({ file: keys.file, created: keys.created, label: keys.label }, 'identity keys are software keys (non-qualified)');
  else logger.info({ kek: keyWrapper.kekId }, 'personal data keys are wrapped inside the PKCS#11 token (qualified)');
  const sealer = driver ? await SubjectSealer.open(driver, keyWrapper) : null;
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
  logger.info({ mode: trust.mode, policyOid: trust.policyOid, trustDir: trust.trustDir }, `trust services sign ${trust.mode === 'qualified' ? 'inside the PKCS#11 token (qualified)' : 'with software keys (non-qualified)'}`);
  const tokens = ApiTokens.parse(config.apiTokens);

  let external = config.external;
  let sims: RunningSimulators | undefined;
  if (config.simulators) {
    sims = await startSimulators({ ...config.simulators, host: '127.0.0.1' });
    logger.info({ siga: sims.sigaUrl, immigration: sims.immigrationUrl, abis: sims.abisUrl }, 'SIGA, Immigration and ABIS simulators started');
    external = { sigaUrl: sims.sigaUrl, immigrationUrl: sims.immigrationUrl, abisUrl: sims.abisUrl, token: sims.token, timeoutMs: config.externalTimeoutMs };
    const running = sims;
    workers.push({ name: 'simulators', stop: () => running.close(), describe: () => ({ siga: running.sigaUrl, immigration: running.immigrationUrl, abis: running.abisUrl }) });
  }

  if (config.roles.includes('mirror') && config.kafka) {
    const mirror = new Mirror({ store: eventStore, settings: config.kafka, logger });
    const s = supervise('mirror', logger, () => mirror.run(), () => mirror.stop());
    workers.push({ name: 'mirror', stop: () => s.stop(), describe: () => ({ ...mirror.status(), restarts: s.restarts() }) });
  }

  if (config.roles.includes('projector')) {
    if (!driver) throw new Error('the projector role keeps read models in SQL: set DATABASE_URL (or run embedded)');
    const db = driver;
    // One consumer per read model: each has its own offsets, dead letters and restarts.
    for (const projection of Object.values(PROJECTIONS)) {
      const source = (): EventSource =>
        config.kafka
          ? new KafkaEventSource(config.kafka, new EnvelopeCodec(config.kafka.registryUrl, config.kafka.prefix), { logger })
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
        describe: () => ({ projection: projection.name, ...consumer?.stats, restarts: s.restarts() }),
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
      indexKey: keys.indexKey,
      uinKey: keys.uinKey,
      uinPolicy: { ...DEFAULT_UIN_POLICY, length: config.uinLength },
      logger,
    });
    await handler.migrate();
    // Enrollments on different partitions never share a stream: the process takes them all at once.
    const source = (): EventSource =>
      config.kafka
        ? new KafkaEventSource(config.kafka, new EnvelopeCodec(config.kafka.registryUrl, config.kafka.prefix), { logger, partitionsConsumedConcurrently: config.kafka.partitions })
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
    workers.push({ name: 'process:enrollment', stop: () => s.stop(), describe: () => ({ ...consumer?.stats, restarts: s.restarts() }) });
  }

  // External sync (docs/sync.md): outbound consumers per system, change-feed polling, scheduled reconciliation.
  let syncService: SyncService | undefined;
  if (config.roles.includes('sync')) {
    if (!driver || !sealer) throw new Error('the sync role keeps its cursors in SQL: set DATABASE_URL (or run embedded)');
    if (!external) throw new RegistoError('CONFIG_INVALID', 'the sync role calls SIGA and Immigration: set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN, or REGISTO_SIMULATORS=on', { problems: ['external systems not configured'] });
    const service = new SyncService({ store: eventStore, db: driver, sealer, ports: syncPorts(external, config.sync), kafka: config.kafka, retryDelaysMs: config.sync.retryDelaysMs, pollMs: config.sync.pollMs, reconcileIntervalMs: config.sync.reconcileIntervalMs, sessionTimeoutMs: config.sync.sessionTimeoutMs, logger });
    syncService = service;
    const s = supervise('sync', logger, () => service.run(), () => service.stop());
    workers.push({ name: 'sync', stop: () => s.stop(), describe: () => ({ ...service.status(), restarts: s.restarts() }) });
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
      const trust = { intakePrivateKey: keys.intakeKey.privateKey, trustedCaPems: [keys.registrationCa.certificatePem] };
      registerIntakeRoutes(app, { store: eventStore, sealer, trust, tokens });
      registerAdjudicationRoutes(app, { store: eventStore, db, sealer, tokens });
      registerIdentityRoutes(app, { store: eventStore, db, indexKey: keys.indexKey, tokens });
      if (external) {
        // Webhooks, redrive, report: changes are applied here even when the sync role runs elsewhere.
        const inbound = syncService?.inbound ?? new SyncService({ store: eventStore, db, sealer, ports: syncPorts(external, config.sync), kafka: null, retryDelaysMs: [], pollMs: 0, reconcileIntervalMs: 0 }).inbound;
        await inbound.migrate();
        registerSyncRoutes(app, { store: eventStore, db, tokens, webhookSecrets: { SIGA: config.sync.sigaToken ?? external.token, IMMIGRATION: config.sync.immigrationToken ?? external.token }, applyChange: (system, change, via) => inbound.apply(system, change, via) });
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
        signer: { mode: config.signer.mode, kek: keyWrapper.kekId, kekKind: keyWrapper.kind, policyOid: trust.policyOid },
        workers: Object.fromEntries(workers.map((w) => [w.name, w.describe()])),
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
    close: () =>
      (closing ??= (async () => {
        await app?.close();
        await Promise.allSettled(workers.map((w) => w.stop()));
        await eventStore.close();
        await trust.close();
        if (keyWrapper instanceof Pkcs11KeyWrapper) await keyWrapper.close();
        logger.info('registo stopped');
      })()),
  };
}

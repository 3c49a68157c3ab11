import {
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
import { Mirror } from '@registo/producers';
import { PROJECTIONS } from '@registo/projections';
import { createHttpApp, registerHealthRoutes } from '@registo/gateways';
import { startSimulators } from '@registo/simulators';

export interface RunningPlatform {
  /** Where the HTTP server listens (when the api role runs), e.g. http://127.0.0.1:8080 */
  url: string | null;
  eventStore: EventStore;
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

  if (config.simulators) {
    const sims = await startSimulators({ sigaPort: config.simulators.sigaPort, immigrationPort: config.simulators.immigrationPort, host: '127.0.0.1' });
    logger.info({ siga: sims.sigaUrl, immigration: sims.immigrationUrl }, 'SIGA and Immigration simulators started');
    workers.push({ name: 'simulators', stop: () => sims.close(), describe: () => ({ siga: sims.sigaUrl, immigration: sims.immigrationUrl }) });
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

  let url: string | null = null;
  let app: ReturnType<typeof createHttpApp> | undefined;
  if (config.roles.includes('api')) {
    app = createHttpApp(logger);
    const startedAt = new Date().toISOString();
    registerHealthRoutes(app, {
      eventStore,
      describe: () => ({
        startedAt,
        roles: config.roles,
        eventStoreTarget: config.eventStore.kind,
        workers: Object.fromEntries(workers.map((w) => [w.name, w.describe()])),
      }),
    });
    try {
      url = await app.listen({ port: config.http.port, host: config.http.host });
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
    eventStore,
    close: () =>
      (closing ??= (async () => {
        await app?.close();
        await Promise.allSettled(workers.map((w) => w.stop()));
        await eventStore.close();
        logger.info('registo stopped');
      })()),
  };
}

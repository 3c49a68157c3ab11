import { type EventStore, type Logger, type RegistoConfig, maskSecrets, openEventStore } from '@registo/infra';
import { createHttpApp, registerHealthRoutes } from '@registo/gateways';

export interface RunningPlatform {
  /** Where the HTTP server listens, e.g. http://127.0.0.1:8080 */
  url: string;
  eventStore: EventStore;
  close(): Promise<void>;
}

/** The composition root: opens the event store, mounts the gateways, starts listening. */
export async function startPlatform(config: RegistoConfig, logger: Logger): Promise<RunningPlatform> {
  logger.info({ config: maskSecrets(config) }, 'configuration');
  const eventStore = await openEventStore(config.eventStore);
  const app = createHttpApp(logger);
  const startedAt = new Date().toISOString();
  registerHealthRoutes(app, {
    eventStore,
    describe: () => ({ startedAt, eventStoreTarget: config.eventStore.kind }),
  });
  let url: string;
  try {
    url = await app.listen({ port: config.http.port, host: config.http.host });
  } catch (e) {
    await eventStore.close();
    throw e;
  }
  logger.info({ url, eventStore: eventStore.info.adapter, headPosition: await eventStore.headPosition() }, 'registo ready');
  let closing: Promise<void> | undefined;
  return {
    url,
    eventStore,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await eventStore.close();
        logger.info('registo stopped');
      })()),
  };
}

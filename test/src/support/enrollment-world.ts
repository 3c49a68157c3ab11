import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { type EventStore, PostgresDriver, SqlEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import type { EnrollmentPacket } from '@registo/packets';
import {
  type SqlHandler,
  SqlConsumer,
  SqlDeadLetterSink,
  StoreEventSource,
  StreamParallelConsumer,
} from '@registo/messaging';
import { AbisHttpConnector, ImmigrationHttpConnector, SigaHttpConnector } from '@registo/external';
import { type EnrollmentProcess, createEnrollmentProcess } from '@registo/consumers';
import { ApiTokens, createHttpApp, registerAdjudicationRoutes, registerIntakeRoutes } from '@registo/gateways';
import { type RunningSimulators, startSimulators } from '@registo/simulators';
import { type PacketTestEnv, createPacketTestEnv } from './hostile-packets.js';
import { type TestDatabase, createTestDatabase } from './postgres.js';

export const ADJUDICATOR_TOKEN = 'adj-tok';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The enrollment side of the platform on PostgreSQL, as the embedded form runs it: the intake
 * over HTTP, the enrollment process on the store subscription, and the SIGA, Immigration and
 * ABIS simulators behind the real connectors. Read models are brought up to date on demand.
 */
export interface EnrollmentWorld {
  env: PacketTestEnv;
  db: TestDatabase;
  driver: PostgresDriver;
  store: EventStore;
  sealer: SubjectSealer;
  sims: RunningSimulators;
  indexKey: Buffer;
  process: EnrollmentProcess;
  /** The intake and adjudication API; `ADJUDICATOR_TOKEN` is an adjudicator's bearer token there. */
  apiUrl: string;
  /** Uploads a packet; throws unless the intake accepts it. */
  submit(packet: EnrollmentPacket): Promise<void>;
  /** Waits until the process has handled every enrollment event in the log. */
  settled(timeoutMs?: number): Promise<void>;
  /** Applies every event in the log to a read model, incrementally (its offset is kept between calls). */
  project(projection: SqlHandler): Promise<void>;
  close(): Promise<void>;
}

/** Waits until the enrollment process has handled every enrollment event in the log (its offset is at the last one). */
export async function processSettled(driver: PostgresDriver, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // One statement, one snapshot: what handling an event appended commits before its offset moves.
    const [row] = await driver
      .query<{ offset: string | null; last: string }>(
        `SELECT (SELECT "offset" FROM registo_consumer_offsets WHERE consumer = 'enrollment_process') AS offset,
                (SELECT coalesce(max(position), 0) FROM registo_events WHERE category = 'enrollment') AS last`,
      )
      .catch(() => []);
    if (row?.offset != null && Number(row.offset) >= Number(row.last)) return;
    if (Date.now() > deadline) throw new Error(`the process did not settle: offset ${row?.offset ?? 'none'}, last enrollment event ${row?.last}`);
    await sleep(20);
  }
}

/** A PostgreSQL event store at `url` and a subject sealer on the same database, under a fresh software key. */
export async function openSealedStore(url: string): Promise<{ driver: PostgresDriver; store: SqlEventStore; sealer: SubjectSealer }> {
  const driver = new PostgresDriver({ connectionString: url });
  return { driver, store: await SqlEventStore.open(driver), sealer: await SubjectSealer.open(driver, SoftwareKeyWrapper.generate()) };
}

/** The real SIGA, Immigration and ABIS connectors, pointed at the simulators. */
export function simulatorConnectors(sims: RunningSimulators, timeoutMs = 3_000): { siga: SigaHttpConnector; immigration: ImmigrationHttpConnector; abis: AbisHttpConnector } {
  const connector = { token: sims.token, timeoutMs };
  return {
    siga: new SigaHttpConnector({ baseUrl: sims.sigaUrl, ...connector }),
    immigration: new ImmigrationHttpConnector({ baseUrl: sims.immigrationUrl, ...connector }),
    abis: new AbisHttpConnector({ baseUrl: sims.abisUrl, ...connector }),
  };
}

export async function openEnrollmentWorld(): Promise<EnrollmentWorld> {
  const logger = createLogger('silent');
  const indexKey = randomBytes(32);
  const env = await createPacketTestEnv();
  const db = await createTestDatabase('registo_enrol');
  const { driver, store, sealer } = await openSealedStore(db.url);
  const sims = await startSimulators({ sigaPort: 0, immigrationPort: 0, abisPort: 0 });
  const intake: FastifyInstance = createHttpApp(logger);
  const tokens = ApiTokens.parse(`tok:client-1:registration_client,${ADJUDICATOR_TOKEN}:adjudicator-4:adjudicator`);
  registerIntakeRoutes(intake, { store, sealer, trust: env.trust, tokens });
  registerAdjudicationRoutes(intake, { store, db: driver, sealer, tokens });
  const intakeUrl = await intake.listen({ port: 0, host: '127.0.0.1' });
  const process = createEnrollmentProcess({
    store,
    db: driver,
    sealer,
    ...simulatorConnectors(sims),
    indexKey,
    uinKey: randomBytes(32),
    backoffMs: () => 25,
    logger,
  });
  await process.migrate();
  const consumer = new StreamParallelConsumer(driver, process, new StoreEventSource(store), new SqlDeadLetterSink(driver), { concurrency: 8, retryDelayMs: 50, logger });
  const running = consumer.run();

  return {
    env,
    db,
    driver,
    store,
    sealer,
    sims,
    indexKey,
    process,
    apiUrl: intakeUrl,
    async submit(packet) {
      const res = await fetch(`${intakeUrl}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: await env.seal(packet) });
      if (res.status !== 202) throw new Error(`the intake refused ${packet.regId}: ${res.status} ${await res.text()}`);
    },
    settled: (timeoutMs = 30_000) => processSettled(driver, timeoutMs),
    async project(projection) {
      // The last event the read model is about: its offset need not move past other categories.
      const [last] = await driver.query<{ position: string }>('SELECT coalesce(max(position), 0) AS position FROM registo_events WHERE category = ANY($1)', [projection.categories]);
      const head = Number(last!.position);
      const projector = new SqlConsumer(driver, projection, new StoreEventSource(store), new SqlDeadLetterSink(driver));
      const projecting = projector.run();
      const at = async (): Promise<number> => {
        const [row] = await driver.query<{ offset: string }>('SELECT "offset" FROM registo_consumer_offsets WHERE consumer = $1', [projection.name]).catch(() => []);
        return Number(row?.offset ?? 0);
      };
      for (let i = 0; i < 600 && (await at()) < head; i++) await sleep(25);
      await projector.stop();
      await projecting;
      if ((await at()) < head) throw new Error(`${projection.name} did not reach position ${head}`);
    },
    async close() {
      await consumer.stop().catch(() => undefined);
      await running.catch(() => undefined);
      await intake.close();
      await sims.close();
      await store.close();
      await db.drop();
    },
  };
}

import { randomUUID } from 'node:crypto';
import { createLogger } from '@registo/base';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import type { KafkaSettings } from '@registo/messaging';
import { ResilientSyncPort, SyncHttpConnector, type SyncSystem } from '@registo/external';
import { SYNC_STREAMS_IN_PARALLEL, SyncService } from '@registo/consumers';
import { Mirror, identityHandler, subjectIdFor, syncStreamId } from '@registo/producers';
import { createPopulation, startSimulators } from '@registo/simulators';
import { ensureInfra } from '@registo/deploy';
import { type BenchReport, metric, percentile, progress } from './report.js';
import { withBenchDatabase } from './fixtures.js';

export interface SyncBenchOptions {
  adminUrl: string;
  settings: KafkaSettings;
  syncs: number;
  /** Added by the simulator to every answer. */
  latencyMs: number;
  transport: 'kafka' | 'store';
}

const logger = createLogger('silent');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Status updates straight at the simulator, `concurrency` in flight: what it can take, without the platform. */
async function simulatorCapacity(port: ResilientSyncPort, uins: string[], concurrency: number): Promise<number> {
  const queue = [...uins];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let uin = queue.shift(); uin; uin = queue.shift()) {
        await port.sendStatusUpdate({ uin, civilRegistryNumber: `RC-${uin}`, status: 'ENROLLED' }, { idempotencyKey: randomUUID() });
      }
    }),
  );
  return uins.length / ((performance.now() - started) / 1000);
}

/**
 * Syncs/s from identity created to SIGA's confirmation recorded (SyncSucceeded), through the
 * whole outbound path — mirror, Kafka, the sync consumer, sealed-record opening, the HTTP call
 * to a SIGA simulator answering in `latencyMs` — beside the simulator's own capacity measured
 * in the same run at the consumer's concurrency (on Kafka, partitions × streams in parallel).
 */
export async function benchSync(o: SyncBenchOptions): Promise<BenchReport> {
  if (o.transport === 'kafka') await ensureInfra();
  return withBenchDatabase(o.adminUrl, async (url) => {
    const rig = await openSyncRig(url, o);
    try {
      const baseline = (first: string, inFlight: number) =>
        simulatorCapacity(rig.ports.SIGA, Array.from({ length: Math.min(2000, o.syncs) }, (_, i) => `${first}${String(i).padStart(9, '0')}`), inFlight);
      const simRate = await baseline('9', rig.concurrency);
      const simRateWide = await baseline('8', 64);
      await rig.start();
      const create = identityCreator(rig, o.syncs + 20);
      // Warm-up: the consumers join their groups and the first syncs go through before timing.
      const warm = await Promise.all(Array.from({ length: 20 }, () => create()));
      while ((await succeeded(rig.store, warm)) < warm.length) await sleep(200);
      const { rate, latencies } = await measureSyncs(rig, create, o.syncs);
      const applied = rig.sims.sigaLedger.stats.applied;
      if (applied < o.syncs) throw new Error(`the simulator applied ${applied} updates for ${o.syncs} syncs`);
      return {
        bench: 'sync',
        results: [
          metric(`syncs/s (${o.transport}, SIGA at ${o.latencyMs} ms)`, rate, 'syncs/s', `simulator alone, ${rig.concurrency} in flight`, simRate),
          metric('requested → succeeded p50', percentile(latencies, 50), 'ms', 'simulator latency', o.latencyMs),
          metric('requested → succeeded p99', percentile(latencies, 99), 'ms', 'simulator latency', o.latencyMs),
          metric('syncs/s vs simulator at 64 in flight', rate, 'syncs/s', 'simulator alone, 64 in flight', simRateWide),
        ],
      };
    } finally {
      await rig.close();
    }
  });
}

/** The store, the sealer, the simulators and the sync role (with the mirror on Kafka), not yet running. */
async function openSyncRig(url: string, o: SyncBenchOptions) {
  const driver = new PostgresDriver({ connectionString: url, maxConnections: 20 });
  const store = await SqlEventStore.open(driver);
  const sealer = await SubjectSealer.open(driver, SoftwareKeyWrapper.generate());
  const sims = await startSimulators({ sigaPort: 0, immigrationPort: 0, sigaFaults: { latencyMs: o.latencyMs } });
  const settings = { ...o.settings, prefix: `bsync${Date.now().toString(36)}` };
  // As many calls in flight as the consumer can have: streams in parallel per partition on Kafka.
  const concurrency = o.transport === 'kafka' ? settings.partitions * SYNC_STREAMS_IN_PARALLEL : 16;
  const mkPort = (system: SyncSystem, baseUrl: string) => new ResilientSyncPort(new SyncHttpConnector(system, { baseUrl, token: sims.token, timeoutMs: 10_000 }), { ratePerSecond: 100_000, breakerThreshold: 1000 });
  const ports = { SIGA: mkPort('SIGA', sims.sigaUrl), IMMIGRATION: mkPort('IMMIGRATION', sims.immigrationUrl) };
  const mirror = o.transport === 'kafka' ? new Mirror({ store, settings, logger }) : null;
  const service = new SyncService({ store, db: driver, sealer, ports, kafka: mirror ? settings : null, retryDelaysMs: [1000, 5000], pollMs: 3_600_000, reconcileIntervalMs: 0, sessionTimeoutMs: 10_000, logger });
  let mirroring: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  return {
    store,
    sealer,
    sims,
    ports,
    concurrency,
    async start(): Promise<void> {
      if (mirror) {
        await mirror.prepare();
        mirroring = mirror.run();
      }
      running = service.run();
    },
    async close(): Promise<void> {
      await service.stop();
      await running;
      await mirror?.stop();
      await mirroring?.catch(() => undefined);
      await sims.close();
      await store.close();
    },
  };
}

type SyncRig = Awaited<ReturnType<typeof openSyncRig>>;

/** Creates the next identity of the synthetic population; resolves to the id of the SIGA sync it causes. */
function identityCreator(rig: SyncRig, count: number): () => Promise<string> {
  const population = createPopulation();
  const citizens = Array.from({ length: count }, (_, i) => population.citizen(i));
  let n = 0;
  return async () => {
    const c = citizens[n]!;
    const uin = String(2_000_000_000 + n++);
    const regId = `R-${uin}`;
    const demographics = { givenNames: c.givenNames, surname: c.surname, dateOfBirth: c.dateOfBirth, sex: c.sex, nationality: 'STP', address: { district: c.placeOfBirth.district, locality: c.placeOfBirth.locality }, civilRegistryNumber: c.civilRegistryNumber };
    const sealed = await rig.sealer.seal(subjectIdFor(regId), { demographics, biometrics: [], documents: [] });
    const r = await identityHandler(rig.store, uin, { type: 'CreateIdentity', uin, regId, residency: 'CITIZEN', sealed, civilRegistryIndex: null });
    return `siga.${r.events[0]!.eventId}`;
  };
}

async function succeeded(store: SqlEventStore, syncIds: string[]): Promise<number> {
  let ok = 0;
  for (const id of syncIds) if ((await store.readStream(syncStreamId(id))).some((e) => e.type === 'SyncSucceeded')) ok++;
  return ok;
}

/** Creates `syncs` identities with 16 writers and waits for every sync: the rate, and requested → succeeded of each. */
async function measureSyncs(rig: SyncRig, create: () => Promise<string>, syncs: number): Promise<{ rate: number; latencies: number[] }> {
  const bar = progress('bench sync', syncs);
  const started = performance.now();
  const ids: string[] = [];
  // Identities arrive faster than SIGA answers: 16 writers, so the sync path is what is measured.
  let left = syncs;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (left-- > 0) ids.push(await create());
    }),
  );
  const latencies: number[] = [];
  let pending = [...ids];
  let last = 0;
  while (pending.length > 0) {
    const still: string[] = [];
    for (const id of pending) {
      const events = await rig.store.readStream(syncStreamId(id));
      const ok = events.find((e) => e.type === 'SyncSucceeded');
      if (ok) latencies.push(Date.parse(ok.metadata.recordedAt) - Date.parse(events[0]!.metadata.recordedAt));
      else still.push(id);
    }
    bar.tick(pending.length - still.length);
    pending = still;
    if (pending.length > 0) await sleep(100);
    last = performance.now();
  }
  bar.stop();
  return { rate: syncs / ((last - started) / 1000), latencies };
}

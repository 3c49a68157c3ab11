import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '@registo/base';
import type { KeyWrapper } from '@registo/crypto';
import { type KafkaSettings, categoryTopic } from '@registo/messaging';
import { ResilientSyncPort, SyncHttpConnector, type ExternalSyncPort, type SyncSystem } from '@registo/external';
import { SyncService } from '@registo/consumers';
import { Mirror } from '@registo/producers';
import { type FaultSettings, type RunningSimulators, startSimulators } from '@registo/simulators';
import type { EventEnvelope } from '@registo/schemas';
import { type SeededIdentity, type SyncWorld, expectedSyncId, openSyncWorld, pickPeople, seedIdentities, settledCount, syncState, testKafkaSettings } from '../../src/index.js';
import { waitFor } from '../kafka/processes.js';

/** A store mirrored to its own topics, the simulators, and (optionally) the sync role running in this process. */
export interface KafkaSyncWorld extends SyncWorld {
  sims: RunningSimulators;
  settings: KafkaSettings;
  /** The mirror running now (a failed one is replaced, as the platform's supervisor does). */
  mirror(): Mirror;
  service: SyncService | null;
  /** Why the in-process sync role stopped on its own (it should not): waits fail at once with it. */
  serviceFailure(): Error | undefined;
  ports: Record<SyncSystem, ExternalSyncPort>;
  nextPerson: { CITIZEN: number; FOREIGNER: number };
  stop(): Promise<void>;
}

export async function startKafkaSyncWorld(label: string, options: { timeoutMs?: number; breakerThreshold?: number; retryDelaysMs?: number[]; latencyMs?: number; runService?: boolean; wrapper?: KeyWrapper } = {}): Promise<KafkaSyncWorld> {
  const world = await openSyncWorld(options.wrapper);
  const sims = await startSimulators({ sigaPort: 0, immigrationPort: 0, ...(options.latencyMs !== undefined && { sigaFaults: { latencyMs: options.latencyMs }, immigrationFaults: { latencyMs: options.latencyMs } }) });
  const settings = testKafkaSettings(label);
  const logger = createLogger((process.env.SYNC_TEST_LOG as 'silent') ?? 'silent');
  let mirror = new Mirror({ store: world.store, settings, logger });
  await mirror.prepare();
  let stopping = false;
  // Supervised like the platform's mirror role: under load a Kafka transaction can fail; the
  // next mirror fences the old one out and resumes from the checkpoint.
  const mirroring = (async () => {
    while (!stopping) {
      try {
        await mirror.run();
      } catch (e) {
        if (!stopping) process.stderr.write(`test mirror failed, restarting: ${(e as Error).message}\n`);
      }
      if (stopping) break;
      await new Promise((r) => setTimeout(r, 500));
      mirror = new Mirror({ store: world.store, settings, logger });
    }
  })();
  const port = (system: SyncSystem, baseUrl: string) =>
    new ResilientSyncPort(new SyncHttpConnector(system, { baseUrl, token: sims.token, timeoutMs: options.timeoutMs ?? 2_000 }), { ratePerSecond: 1000, breakerThreshold: options.breakerThreshold ?? 10, halfOpenAfterMs: 500 });
  const ports = { SIGA: port('SIGA', sims.sigaUrl), IMMIGRATION: port('IMMIGRATION', sims.immigrationUrl) };
  let service: SyncService | null = null;
  let running: Promise<void> | undefined;
  let failure: Error | undefined;
  if (options.runService !== false) {
    service = new SyncService({ store: world.store, db: world.driver, sealer: world.sealer, ports, kafka: settings, retryDelaysMs: options.retryDelaysMs ?? [200, 600, 1200], pollMs: 60_000, reconcileIntervalMs: 0, logger });
    running = service.run().catch((e: Error) => {
      failure = e;
    });
  }
  return {
    ...world,
    sims,
    settings,
    mirror: () => mirror,
    service,
    serviceFailure: () => failure,
    ports,
    nextPerson: { CITIZEN: 0, FOREIGNER: 0 },
    async stop() {
      await service?.stop();
      await running;
      stopping = true;
      await mirror.stop().catch(() => undefined);
      await mirroring;
      await sims.close();
      await world.close();
    },
  };
}

export interface Batch {
  identities: SeededIdentity[];
  sources: Array<{ system: SyncSystem; event: EventEnvelope }>;
  syncIds: string[];
}

/** New identities (citizens → SIGA, foreigners → Immigration): each asks for one sync. */
export async function seedBatch(w: KafkaSyncWorld, citizens: number, foreigners: number): Promise<Batch> {
  const people = [
    ...pickPeople(w.population, 'CITIZEN', citizens, w.nextPerson.CITIZEN).map((demographics) => ({ residency: 'CITIZEN' as const, demographics })),
    ...pickPeople(w.population, 'FOREIGNER', foreigners, w.nextPerson.FOREIGNER).map((demographics) => ({ residency: 'FOREIGNER' as const, demographics })),
  ];
  // Far enough apart that batches never share a person (the simulators key records by UIN anyway).
  w.nextPerson.CITIZEN += citizens * 2;
  w.nextPerson.FOREIGNER += foreigners * 3;
  const identities = await seedIdentities(w, people);
  const sources = identities.map((i) => ({ system: (i.residency === 'CITIZEN' ? 'SIGA' : 'IMMIGRATION') as SyncSystem, event: i.created }));
  return { identities, sources, syncIds: sources.map((s) => expectedSyncId(s.system, s.event)) };
}

export async function waitSettled(w: Pick<SyncWorld, 'store'> & Partial<Pick<KafkaSyncWorld, 'serviceFailure'>>, batch: Batch, timeoutMs = 90_000): Promise<void> {
  const failed = () => w.serviceFailure?.();
  await waitFor(`${batch.syncIds.length} syncs settled`, async () => failed() !== undefined || (await settledCount(w.store, batch.syncIds)) === batch.syncIds.length, timeoutMs);
  const failure = failed();
  if (failure) throw new Error(`the sync role stopped: ${failure.message}`);
}

export function setFaults(w: KafkaSyncWorld, faults: Partial<FaultSettings>): void {
  w.sims.sigaFaults.reset();
  w.sims.immigrationFaults.reset();
  w.sims.sigaFaults.update(faults);
  w.sims.immigrationFaults.update(faults);
}

/**
 * What every fault test ends with: each sync of the batch succeeded or was dead-lettered with
 * its reason, none lost, and the simulators applied each sync at most once (exactly once when
 * it succeeded) — counted by the systems themselves, per idempotency key and per identity.
 */
export async function expectSettledOnce(w: KafkaSyncWorld, batch: Batch): Promise<{ succeeded: number; deadLettered: number }> {
  const applied = [...w.sims.sigaLedger.appliedLog, ...w.sims.immigrationLedger.appliedLog];
  let succeeded = 0;
  let deadLettered = 0;
  for (const [i, s] of batch.sources.entries()) {
    const syncId = batch.syncIds[i]!;
    const { state, events } = await syncState(w.store, syncId);
    expect(['SUCCEEDED', 'DEAD_LETTERED'], syncId).to.include(state.status);
    expect(events.filter((e) => e.type === 'SyncSucceeded'), `${syncId} succeeded once at most`).to.have.length.at.most(1);
    const byKey = applied.filter((a) => a.key === s.event.eventId).length;
    const byIdentity = applied.filter((a) => a.body.uin === s.event.data.uin).length;
    if (state.status === 'SUCCEEDED') {
      succeeded++;
      expect(byKey, `${syncId} applied exactly once`).to.equal(1);
      expect(byIdentity, `${syncId}: one application per identity`).to.equal(1);
    } else {
      deadLettered++;
      const dead = events.find((e) => e.type === 'SyncDeadLettered')!;
      expect(String(dead.data.reason).length, `${syncId} has a reason`).to.be.greaterThan(5);
      expect(byKey, `${syncId} applied at most once`).to.be.at.most(1);
    }
  }
  return { succeeded, deadLettered };
}

/** Produces the batch's identity messages again, as a broker redelivering (or a producer retrying) would. */
export async function duplicateDeliveries(w: KafkaSyncWorld, batch: Batch, copies: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'sync-dup', brokers: w.settings.brokers, logLevel: logLevel.ERROR });
  const wanted = new Set(batch.sources.map((s) => s.event.eventId));
  const found: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }> = [];
  const consumer = kafka.consumer({ groupId: `dup-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [categoryTopic('identity', w.settings.prefix)], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      if (wanted.has(headers['event-id']!)) found.push({ key: message.key, value: message.value, headers });
    },
  });
  await waitFor('the batch on the identity topic', async () => found.length >= wanted.size, 30_000);
  await consumer.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let c = 0; c < copies; c++) await producer.send({ topic: categoryTopic('identity', w.settings.prefix), messages: found.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
  await producer.disconnect();
  return found.length * copies;
}

export function outboundSucceeded(w: KafkaSyncWorld): number {
  return ((w.service?.status().outbound ?? []) as Array<{ succeeded?: number }>).reduce((n, o) => n + (o.succeeded ?? 0), 0);
}

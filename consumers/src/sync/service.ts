import type { Logger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import {
  EnvelopeCodec,
  KafkaDeadLetterSink,
  type KafkaSettings,
  RetryingKafkaConsumer,
  SqlDeadLetterSink,
  StoreEventSource,
  StreamParallelConsumer,
  dlqTopic,
  kafkaClient,
  topicConfig,
  ensureTopics,
} from '@registo/messaging';
import type { ExternalSyncPort, SyncSystem } from '@registo/external';
import { type InboundSync, createInboundSync } from './inbound.js';
import { createOutboundSync } from './outbound.js';
import { type ReconcileResult, runReconciliation } from './reconcile.js';

export interface SyncServiceDeps {
  store: EventStore;
  db: SqlDriver;
  sealer: SubjectSealer;
  ports: Record<SyncSystem, ExternalSyncPort>;
  /** Kafka: retry topics and DLQ topics; null: the store's subscription, in-place retries, dead letters in SQL. */
  kafka: KafkaSettings | null;
  /** The waits between attempts of one sync (REGISTO_SYNC_RETRY_DELAYS_MS): retry topics on Kafka, in place embedded. */
  retryDelaysMs: readonly number[];
  pollMs: number;
  /** 0: reconciliation only on demand. */
  reconcileIntervalMs: number;
  /** Kafka group session timeout (default 10 s). */
  sessionTimeoutMs?: number;
  logger?: Logger;
}

export const SYNC_SYSTEMS: readonly SyncSystem[] = ['SIGA', 'IMMIGRATION'];
/** Identities of one partition's batch synced at once on Kafka (each identity's events stay in order). */
export const SYNC_STREAMS_IN_PARALLEL = 8;

interface Outbound {
  stats(): Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * The sync role: per system an outbound consumer (Kafka with retry and DLQ topics, or the
 * store's subscription when embedded), the change-feed poller, and the scheduled
 * reconciliation. `run()` resolves when `stop()` is called.
 */
export class SyncService {
  readonly inbound: InboundSync;
  private readonly outbound: Outbound[] = [];
  private stopping = false;
  private readonly wakers = new Set<() => void>();
  private stopped: Promise<void>;
  private resolveStopped!: () => void;
  private failure: Error | undefined;
  readonly lastPoll: Partial<Record<SyncSystem, { at: string; applied: number; error?: string }>> = {};
  readonly lastReconciliation: Partial<Record<SyncSystem, Omit<ReconcileResult, 'differences'> & { at: string }>> = {};

  constructor(private readonly deps: SyncServiceDeps) {
    this.inbound = createInboundSync({ store: deps.store, sealer: deps.sealer, db: deps.db, ...(deps.logger && { logger: deps.logger }) });
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  status(): Record<string, unknown> {
    return { outbound: this.outbound.map((o) => o.stats()), lastPoll: this.lastPoll, lastReconciliation: this.lastReconciliation };
  }

  /** Runs until `stop()`; rejects (after stopping what it started) when an outbound consumer fails. */
  async run(): Promise<void> {
    // Runnable again after a failure: its supervisor calls run() once more on the same service.
    this.stopping = false;
    this.failure = undefined;
    this.outbound.length = 0;
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    await this.inbound.migrate();
    for (const system of SYNC_SYSTEMS) this.outbound.push(await this.startOutbound(system));
    const loops = [this.pollLoop(), ...(this.deps.reconcileIntervalMs > 0 ? [this.reconcileLoop()] : [])];
    await this.stopped;
    for (const wake of this.wakers) wake();
    await Promise.allSettled(loops);
    if (this.failure) throw this.failure;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    void this.stop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    await Promise.allSettled(this.outbound.map((o) => o.stop()));
    this.resolveStopped();
  }

  private async startOutbound(system: SyncSystem): Promise<Outbound> {
    const { store, sealer, kafka, retryDelaysMs, logger } = this.deps;
    const maxAttempts = retryDelaysMs.length + 1;
    const handler = createOutboundSync(system, { store, sealer, port: this.deps.ports[system], maxAttempts, ...(logger && { logger }) });
    if (kafka) {
      // The DLQ exists before the first dead letter, so that letter does not wait on auto-creation.
      const admin = kafkaClient(kafka, `${handler.name}-admin`, logger).admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [{ topic: dlqTopic(handler.name, kafka.prefix), numPartitions: kafka.partitions, replicationFactor: 1, configEntries: topicConfig() }]);
      } finally {
        await admin.disconnect();
      }
      const sink = new KafkaDeadLetterSink(kafka, logger);
      const consumer = new RetryingKafkaConsumer(kafka, new EnvelopeCodec(kafka.registryUrl, kafka.prefix), store, handler, sink, { delaysMs: retryDelaysMs, partitionsConsumedConcurrently: kafka.partitions, sessionTimeoutMs: this.deps.sessionTimeoutMs ?? 10_000, streamsInParallel: SYNC_STREAMS_IN_PARALLEL }, logger);
      await consumer.run();
      // A consumer stopped for good (another store's events on its topics) stops the service.
      void consumer.whenFailed().then((e) => {
        if (!this.stopping) this.fail(e);
      });
      return { stats: () => ({ system, ...consumer.stats }), stop: async () => { await consumer.stop(); await sink.close(); } };
    }
    const sink = new SqlDeadLetterSink(this.deps.db);
    const consumer = new StreamParallelConsumer(this.deps.db, handler, new StoreEventSource(store), sink, { maxAttempts, retryDelaysMs, concurrency: 16, ...(logger && { logger }) });
    // A consumer that stops on its own (the database went away) stops the service, so that its
    // supervisor starts it again; one that stops because the service stops is not a failure.
    const running = consumer.run().then(
      () => {
        if (!this.stopping) this.fail(new Error(`${system} sync consumer ended on its own`));
      },
      (e: unknown) => {
        if (!this.stopping) this.fail(e instanceof Error ? e : new Error(String(e)));
      },
    );
    return { stats: () => ({ system, ...consumer.stats }), stop: async () => { await consumer.stop(); await running; } };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const wake = (): void => {
        clearTimeout(t);
        this.wakers.delete(wake);
        r();
      };
      const t = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /** Reads each system's change feed now; the webhook brings changes sooner, this catches what it missed. */
  async pollOnce(): Promise<void> {
    for (const system of SYNC_SYSTEMS) {
      try {
        const applied = await this.inbound.poll(system, this.deps.ports[system]);
        this.lastPoll[system] = { at: new Date().toISOString(), applied };
      } catch (e) {
        this.lastPoll[system] = { at: new Date().toISOString(), applied: 0, error: (e as Error).message };
        this.deps.logger?.warn({ system, err: (e as Error).message }, 'change feed poll failed');
      }
    }
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopping) {
      await this.pollOnce();
      if (!this.stopping) await this.sleep(this.deps.pollMs);
    }
  }

  private async reconcileLoop(): Promise<void> {
    for (;;) {
      await this.sleep(this.deps.reconcileIntervalMs);
      if (this.stopping) return;
      for (const system of SYNC_SYSTEMS) {
        try {
          const { differences: _d, ...result } = await runReconciliation(system, { store: this.deps.store, db: this.deps.db, sealer: this.deps.sealer, port: this.deps.ports[system], ...(this.deps.logger && { logger: this.deps.logger }) });
          this.lastReconciliation[system] = { ...result, at: new Date().toISOString() };
        } catch (e) {
          this.deps.logger?.warn({ system, err: (e as Error).message }, 'scheduled reconciliation failed');
        }
      }
    }
  }
}

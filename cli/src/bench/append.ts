import pg from 'pg';
import { type EventStore, openEventStore, prepareAppend } from '@registo/event-store';
import type { NewEvent } from '@registo/schemas';
import { randomBytes } from 'node:crypto';
import { type BenchReport, latencyMetrics, metric, progress } from './report.js';
import { benchEvent, withBenchDatabase } from './fixtures.js';

export interface AppendBenchOptions {
  /** Server to create the throw-away benchmark database on. */
  adminUrl: string;
  batchedEvents: number;
  batchedWriters: number;
  singleEvents: number;
  singleWriters: number;
}

interface Run {
  eventsPerSecond: number;
  latenciesMs: number[];
}

/** `writers` loops, each doing `perCall`-event operations until `total` events are written. */
async function drive(total: number, writers: number, perCall: number, label: string, op: (writer: number, call: number) => Promise<void>): Promise<Run> {
  const calls = Math.ceil(total / perCall);
  const latencies: number[] = [];
  const bar = progress(label, calls);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let c = next++; c < calls; c = next++) {
        const t = performance.now();
        await op(w, c);
        latencies.push(performance.now() - t);
        bar.tick();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  bar.stop();
  return { eventsPerSecond: (calls * perCall) / seconds, latenciesMs: latencies };
}

const BARE_DDL = `DROP TABLE IF EXISTS bare_events; CREATE TABLE bare_events (event_id uuid, stream_id text, revision bigint, type text, schema_version int, data jsonb, metadata jsonb, hash text)`;

/** The baseline: the same payloads as plain multi-row INSERTs into a table with no keys, no lock, no checks. */
async function bareInserts(url: string, payloads: NewEvent[][], writers: number, perCall: number, label: string): Promise<Run> {
  const pool = new pg.Pool({ connectionString: url, max: writers });
  pool.on('error', () => undefined);
  await pool.query(BARE_DDL);
  const prepared = payloads.map((batch, i) => prepareAppend(`enrollment-bare${i}`, batch, -1, new Date().toISOString()));
  try {
    return await drive(payloads.length * perCall, writers, perCall, label, async (_w, c) => {
      const rows = prepared[c]!;
      const params: unknown[] = [];
      const values = rows.map((e, j) => {
        params.push(e.eventId, e.streamId, e.revision, e.type, e.schemaVersion, JSON.stringify(e.data), JSON.stringify(e.metadata), e.hash);
        const b = j * 8;
        return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8})`;
      });
      await pool.query(`INSERT INTO bare_events VALUES ${values.join(',')}`, params);
    });
  } finally {
    await pool.end();
  }
}

async function storeAppends(url: string, payloads: NewEvent[][], writers: number, perCall: number, label: string): Promise<Run> {
  const run = randomBytes(4).toString('hex');
  const store: EventStore = await openEventStore({ kind: 'postgres', url, maxConnections: Math.max(4, Math.min(writers, 16)) });
  try {
    return await drive(payloads.length * perCall, writers, perCall, label, async (_w, c) => {
      await store.append(`enrollment-${run}-${c}`, payloads[c]!, { expectedRevision: 'no_stream' });
    });
  } finally {
    await store.close();
  }
}

export async function benchAppend(o: AppendBenchOptions): Promise<BenchReport> {
  const batches = (events: number, per: number): NewEvent[][] =>
    Array.from({ length: Math.ceil(events / per) }, (_, i) => Array.from({ length: per }, () => benchEvent(`R${i}`)));
  const batched = batches(o.batchedEvents, 100);
  const singles = batches(o.singleEvents, 1);

  const [storeBatched, bareBatched, storeSingle, bareSingle] = await withBenchDatabase(o.adminUrl, async (url) => [
    await storeAppends(url, batched, o.batchedWriters, 100, 'store, 100 events per append'),
    await bareInserts(url, batched, o.batchedWriters, 100, 'baseline, 100-row INSERT'),
    await storeAppends(url, singles, o.singleWriters, 1, `store, single events, ${o.singleWriters} writers`),
    await bareInserts(url, singles, o.singleWriters, 1, `baseline, single-row INSERT, ${o.singleWriters} writers`),
  ]);
  return {
    bench: 'append',
    results: [
      metric('batched_append_events_per_s', storeBatched.eventsPerSecond, 'events/s', 'bare_insert_batched_events_per_s', bareBatched.eventsPerSecond),
      ...latencyMetrics('batched_append', storeBatched.latenciesMs, 'bare_insert_batched', bareBatched.latenciesMs),
      metric('single_append_events_per_s', storeSingle.eventsPerSecond, 'events/s', 'bare_insert_single_events_per_s', bareSingle.eventsPerSecond),
      ...latencyMetrics('single_append', storeSingle.latenciesMs, 'bare_insert_single', bareSingle.latenciesMs),
    ],
  };
}

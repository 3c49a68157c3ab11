import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ensureInfra } from '@registo/deploy';
import { createLogger } from '@registo/base';
import { openEventStore } from '@registo/event-store';
import { issueDeviceCertificate } from '@registo/packets';
import type { KafkaSettings } from '@registo/messaging';
import { type PlatformKeys, loadConfig, loadPlatformKeys } from '@registo/config';
import { createPopulation } from '@registo/simulators';
import { startPlatform } from '../platform.js';
import { type DemoPacket, DemoPacketFactory } from '../demo/packets.js';
import { SIMULATED_LOOPBACK_ENV } from '../platform-env.js';
import { pool, submitPacket } from '../demo/client.js';
import { type BenchReport, metric, percentile, progress } from './report.js';
import { benchEvent, withBenchDatabase } from './fixtures.js';

export interface EnrollBenchOptions {
  adminUrl: string;
  enrollments: number;
  concurrency: number;
  /** Where consumers read the log: Kafka topics (deployed form) or the store's subscription (embedded form). */
  transport: 'kafka' | 'store';
  settings: KafkaSettings;
  share: { foreigners: number };
  /** Uploads per second (paced); omitted: as fast as `concurrency` uploads in flight allow. */
  rate?: number;
}

/** Packets enrolled before the clock starts. */
const WARM_UP = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Single-event appends by `writers` concurrent writers: the store's own rate for the same number of events. */
async function appendBaseline(url: string, events: number, writers: number): Promise<{ perSecond: number; latencies: number[] }> {
  const store = await openEventStore({ kind: 'postgres', url, maxConnections: 16 });
  const latencies: number[] = [];
  const bar = progress('baseline: single-event appends', events);
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = next++; i < events; i = next++) {
          const t = performance.now();
          await store.append(`enrollment-baseline${i}`, [benchEvent(`B${i}`)], { expectedRevision: 'no_stream' });
          latencies.push(performance.now() - t);
          bar.tick();
        }
      }),
    );
  } finally {
    bar.stop();
    await store.close();
  }
  return { perSecond: events / ((performance.now() - started) / 1000), latencies };
}

/**
 * Enrollments from upload to identity, with everything real: the intake over HTTP, PostgreSQL,
 * Kafka (mirror, process and projector reading topics), the SIGA, Immigration and ABIS
 * simulators over HTTP. Clean packets only, so every one should end with an identity.
 */
export async function benchEnroll(o: EnrollBenchOptions): Promise<BenchReport> {
  if (o.transport === 'kafka') await ensureInfra();
  const keysDir = mkdtempSync(join(tmpdir(), 'registo-bench-keys-'));
  try {
    return await withBenchDatabase(o.adminUrl, async (url) => {
      const run = await enrollOnPlatform(url, benchPlatformEnv(url, keysDir, o), o);
      const eventsPerEnrollment = run.events / (o.enrollments + WARM_UP);
      const baseline = await appendBaseline(url, run.events, 32);
      return {
        bench: 'enroll',
        results: [
          metric('enrollments_per_s', run.perSecond, 'enroll/s', 'store_append_rate_as_enrollments_per_s', baseline.perSecond / eventsPerEnrollment),
          metric('submit_to_identity_p99_ms', percentile(run.latencies, 99), 'ms', 'single_append_p99_ms', percentile(baseline.latencies, 99)),
          metric('submit_to_identity_p50_ms', percentile(run.latencies, 50), 'ms', 'single_append_p50_ms', percentile(baseline.latencies, 50)),
          metric('events_per_enrollment', eventsPerEnrollment, 'events', 'events_appended_in_baseline', run.events),
        ],
      };
    });
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
}

function benchPlatformEnv(url: string, keysDir: string, o: EnrollBenchOptions): NodeJS.ProcessEnv {
  return {
    ...SIMULATED_LOOPBACK_ENV,
    DATABASE_URL: url,
    REGISTO_DB_POOL_SIZE: '20',
    REGISTO_DATA_DIR: keysDir,
    REGISTO_KEYS_FILE: join(keysDir, 'keys.json'),
    REGISTO_API_TOKENS: 'bench:bench:operator',
    ...(o.transport === 'kafka'
      ? { KAFKA_BROKERS: o.settings.brokers.join(','), SCHEMA_REGISTRY_URL: o.settings.registryUrl, REGISTO_TOPIC_PREFIX: `benchenroll${Date.now().toString(36)}` }
      : {}),
  };
}

interface EnrollRun {
  perSecond: number;
  latencies: number[];
  /** Every event the run appended, warm-up included. */
  events: number;
}

/** Starts the platform, enrols the warm-up then the measured packets, and stops it. */
async function enrollOnPlatform(url: string, env: NodeJS.ProcessEnv, o: EnrollBenchOptions): Promise<EnrollRun> {
  // LOG_LEVEL=warn shows what the platform says during the run (on stderr-like stdout lines).
  const platform = await startPlatform(loadConfig(env), createLogger((process.env.LOG_LEVEL as 'warn' | undefined) ?? 'silent'));
  const db = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const packets = await generatePackets(await loadPlatformKeys(env.REGISTO_KEYS_FILE!), o);
    // Warm-up, not timed: consumers join their groups, connections and caches fill.
    const warm = packets.slice(0, WARM_UP);
    await pool(warm, o.concurrency, async (p) => void (await submitPacket(platform.url!, p.regId, p.body)));
    await waitForIdentities(db, warm.length, 'warm-up');
    const measured = packets.slice(WARM_UP);
    const { submittedAt, started } = await upload(platform.url!, measured, o);
    await waitForIdentities(db, packets.length, 'identities created');
    const { latencies, last } = await uploadToIdentity(db, submittedAt);
    const events = Number((await db.query('SELECT count(*)::int AS n FROM registo_events')).rows[0].n);
    return { perSecond: measured.length / ((last - started) / 1000), latencies, events };
  } finally {
    await db.end();
    await platform.close();
  }
}

/** The warm-up and measured packets, signed by a device of the platform's registration CA and sealed to its intake key. */
async function generatePackets(keys: PlatformKeys, o: EnrollBenchOptions): Promise<DemoPacket[]> {
  const device = await issueDeviceCertificate(keys.registrationCa, { deviceId: 'bench-client-01', centreId: '10031', notBefore: new Date(Date.now() - 86_400_000) });
  const factory = new DemoPacketFactory({
    population: createPopulation({ citizens: Math.max(10_000, o.enrollments), foreigners: Math.max(1_000, o.enrollments) }),
    device,
    intake: keys.intakeKey,
    mix: { foreigners: o.share.foreigners, discrepancies: 0, duplicates: 0, invalid: 0 },
    eligibleOnly: true,
  });
  const gen = progress('generating signed, encrypted packets', o.enrollments + WARM_UP);
  const packets: DemoPacket[] = [];
  for (let i = 0; i < o.enrollments + WARM_UP; i++) {
    packets.push(await factory.packet(i));
    gen.tick();
  }
  gen.stop();
  return packets;
}

/** Waits until `target` identities exist (or a deadline scaled to the target passes). */
async function waitForIdentities(db: pg.Pool, target: number, label: string): Promise<void> {
  const identities = async (): Promise<number> => (await db.query(`SELECT count(*)::int AS n FROM registo_events WHERE type = 'IdentityCreated'`)).rows[0].n as number;
  const bar = progress(label, target);
  let seen = 0;
  const deadline = Date.now() + Math.max(120_000, target * 200);
  while (seen < target && Date.now() < deadline) {
    const n = await identities();
    bar.tick(n - seen);
    seen = n;
    if (seen < target) await sleep(200);
  }
  bar.stop();
  if (seen < target) throw new Error(`only ${seen} of ${target} identities were created in time`);
}

/** Uploads the measured packets, paced when asked; when each left. */
async function upload(platformUrl: string, measured: DemoPacket[], o: EnrollBenchOptions): Promise<{ submittedAt: Map<string, number>; started: number }> {
  const submittedAt = new Map<string, number>();
  const started = Date.now();
  const up = progress('uploading', measured.length);
  await pool(measured, o.concurrency, async (p, i) => {
    // Paced: packet i leaves at i/rate seconds, so latency is measured below saturation.
    if (o.rate) await sleep(started + (i * 1000) / o.rate - Date.now());
    submittedAt.set(p.regId, Date.now());
    const r = await submitPacket(platformUrl, p.regId, p.body);
    up.tick();
    if (r.httpStatus !== 202) throw new Error(`packet ${p.regId} refused: ${r.code}`);
  });
  up.stop();
  return { submittedAt, started };
}

/** Upload → IdentityCreated for each measured packet, and when the last identity was recorded. */
async function uploadToIdentity(db: pg.Pool, submittedAt: Map<string, number>): Promise<{ latencies: number[]; last: number }> {
  const created = (await db.query(`SELECT data->>'regId' AS reg_id, metadata->>'recordedAt' AS at FROM registo_events WHERE type = 'IdentityCreated'`)).rows as Array<{ reg_id: string; at: string }>;
  const latencies: number[] = [];
  let last = 0;
  for (const c of created) {
    const sent = submittedAt.get(c.reg_id);
    if (sent === undefined) continue; // a warm-up packet
    const at = Date.parse(c.at);
    last = Math.max(last, at);
    latencies.push(at - sent);
  }
  return { latencies, last };
}

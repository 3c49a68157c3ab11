import { createHash, hash as oneShot, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { createTimestamper, openTrustKeys } from '@registo/trust';
import {
  AUDIT_TREE_DDL,
  CompactRange,
  EXPORT_KIND,
  SqlTreeStore,
  appendLeaves,
  checkTimestampToken,
  ecdsaKeyId,
  formatCheckpointBody,
  hashLeaf,
  noteDigest,
  signNote,
  verifyExportStream,
  verifyInclusion,
} from '@registo/audit';
import { Checkpointer } from '@registo/consumers';
import { type EventEnvelope, hashInput, isEventOf } from '@registo/schemas';
import { type BenchReport, metric, percentile, progress } from './report.js';
import { benchEvent, withBenchDatabase } from './fixtures.js';

export interface AuditBenchOptions {
  adminUrl: string;
  events: number;
  proofs: number;
  loadSeconds: number;
  loadRate: number;
}

const ORIGIN = 'bench.registo/audit';
const CHECKPOINT_EVERY = 10_000;

/**
 * The canonical JSON (RFC 8785: members sorted, no spaces) of a synthetic ExternalCheckCompleted-
 * sized enrollment event, written by template so that a million are made in seconds. Every value
 * is plain ASCII needing no escapes, so the template is canonical by construction; the first lines
 * are checked against the real canonicaliser all the same.
 */
function syntheticEvent(i: number, stamp: string): { canonical: string; envelope: () => Omit<EventEnvelope, 'position' | 'hash'> } {
  const eventId = randomUUID();
  const regId = `R${String(100_000_000 + i)}`;
  const packetHash = createHash('sha256').update(regId).digest('hex');
  const iv = randomBytes(12).toString('base64url');
  const ciphertext = randomBytes(120).toString('base64url');
  const canonical =
    `{"data":{"capturedAt":"${stamp}","centreId":"STP-AGUA-GRANDE-01","deviceId":"dev-12","operatorId":"op-7","packetHash":"${packetHash}","packetType":"NEW","regId":"${regId}","residency":"CITIZEN",` +
    `"sealed":{"alg":"A256GCM","ciphertext":"${ciphertext}","iv":"${iv}","keyVersion":1,"subjectId":"${regId}"}},"eventId":"${eventId}",` +
    `"metadata":{"actor":{"id":"registration-client-1","role":"registration_client"},"causationId":null,"correlationId":"${eventId}","occurredAt":"${stamp}","recordedAt":"${stamp}","traceparent":null},` +
    `"revision":0,"schemaVersion":1,"streamId":"enrollment-${regId}","type":"EnrollmentSubmitted"}`;
  return { canonical, envelope: () => JSON.parse(canonical) as Omit<EventEnvelope, 'position' | 'hash'> };
}

/** Writes a synthetic export of `events` events (a signed, timestamped checkpoint every 10,000) and returns what verifying needs. */
async function synthesiseExport(file: string, events: number, dataDir: string): Promise<{ spki: Buffer; tsaPem: string; caPem: string; leaves: Buffer; bytes: number }> {
  const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
  const signer = trust.signers.checkpoint_signer;
  const tsa = createTimestamper(trust);
  const spki = await signer.publicKeySpki();
  const out = createWriteStream(file);
  const write = (s: string): Promise<void> => (out.write(s) ? Promise.resolve() : new Promise((r) => out.once('drain', () => r())));
  await write(`${JSON.stringify({ kind: EXPORT_KIND, version: 1, origin: ORIGIN, from: 1, to: events, prefix: { size: 0, edge: [] }, exportedAt: new Date().toISOString() })}\n`);
  const range = CompactRange.empty();
  const leaves = Buffer.alloc(events * 32);
  const stamp = new Date().toISOString();
  let previous: string | null = null;
  let chunk = '';
  let sinceCheckpoint = 0;
  let checkpoints = 0;
  const bar = progress('synthesise export', events);
  for (let position = 1; position <= events; position++) {
    let canonical: string;
    if (sinceCheckpoint >= CHECKPOINT_EVERY) {
      const size = range.size;
      const extensions = [...(previous ? [`previous ${Buffer.from(previous, 'hex').toString('base64')}`] : []), 'signer-mode non_qualified'];
      const note = await signNote(formatCheckpointBody({ origin: ORIGIN, treeSize: size, rootHash: range.root(), extensions }), ORIGIN, spki, (d) => signer.sign(d));
      const digest = noteDigest(note);
      const token = await tsa.timestamp({ messageImprint: digest, certReq: true });
      const eventId = randomUUID();
      canonical = hashInput({
        eventId,
        streamId: 'audit-checkpoints',
        revision: checkpoints++,
        type: 'CheckpointSigned',
        schemaVersion: 1,
        data: { origin: ORIGIN, treeSize: size, rootHash: range.root().toString('hex'), note, noteSha256: digest.toString('hex'), previousNoteSha256: previous, keyId: ecdsaKeyId(spki).toString('hex'), signerMode: 'non_qualified', timestampToken: token.toString('base64'), signedAt: stamp },
        metadata: { correlationId: eventId, causationId: null, actor: { id: 'checkpointer', role: 'system' }, occurredAt: stamp, recordedAt: stamp, traceparent: null },
      });
      previous = digest.toString('hex');
      sinceCheckpoint = 0;
    } else {
      const e = syntheticEvent(position, stamp);
      if (position <= 100 && hashInput(e.envelope()) !== e.canonical) throw new Error('the synthetic template is not canonical JSON');
      canonical = e.canonical;
    }
    sinceCheckpoint++;
    const bytes = Buffer.from(canonical, 'utf8');
    const leaf = hashLeaf(bytes);
    leaf.copy(leaves, (position - 1) * 32);
    range.append(leaf);
    chunk += `{"position":${position},"hash":"${createHash('sha256').update(bytes).digest('hex')}","leafHash":"${leaf.toString('hex')}","event":${canonical}}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
    if (position % 10_000 === 0) bar.tick(10_000);
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  bar.stop();
  const result = { spki, tsaPem: trust.certificates.tsa_signer.pem, caPem: trust.certificates.identity_ca.pem, leaves, bytes: (await stat(file)).size };
  await trust.close();
  return result;
}

/** The floor: one SHA-256 of every line of the same file, read and split on the same bytes. */
async function rawSha256Rate(file: string): Promise<{ wall: number; cpu: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let rest: Buffer | null = null;
  let lines = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf: Buffer = rest ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      oneShot('sha256', buf.subarray(start, nl), 'buffer');
      lines++;
      start = nl + 1;
    }
    rest = start < buf.length ? buf.subarray(start) : null;
  }
  const used = process.cpuUsage(cpu);
  return { wall: lines / ((performance.now() - started) / 1000), cpu: lines / ((used.user + used.system) / 1e6) };
}

/** Inclusion proofs at size `n` from the SQL tree, beside a single primary-key row read. */
async function proofLatency(url: string, leaves: Buffer, n: number, samples: number): Promise<{ p50: number; p99: number; rowP99: number; insertPerSecond: number }> {
  const db = new PostgresDriver({ connectionString: url, maxConnections: 4 });
  const tree = new SqlTreeStore();
  try {
    await db.migrate(AUDIT_TREE_DDL);
    const range = CompactRange.empty();
    const bar = progress('tree rows into PostgreSQL', n);
    const started = performance.now();
    for (let i = 0; i < n; i += 20_000) {
      const batch: Buffer[] = [];
      for (let j = i; j < Math.min(n, i + 20_000); j++) batch.push(leaves.subarray(j * 32, (j + 1) * 32));
      await db.transaction((tx) => tree.insertRows(tx, appendLeaves(range, batch)));
      bar.tick(batch.length);
    }
    bar.stop();
    const insertPerSecond = n / ((performance.now() - started) / 1000);
    await db.query('ANALYZE registo_audit_tree');
    const root = range.root();
    const latencies: number[] = [];
    const rows: number[] = [];
    for (let s = 0; s < samples + 50; s++) {
      const index = Math.floor(Math.random() * n);
      const t = performance.now();
      const p = await tree.inclusionProof(db, index, n);
      const ms = performance.now() - t;
      if (!verifyInclusion(leaves.subarray(index * 32, (index + 1) * 32), index, n, p.proof, root)) throw new Error(`inclusion proof for ${index} does not verify`);
      const r = performance.now();
      await db.query('SELECT nodes FROM registo_audit_tree WHERE leaf_index = $1', [index]);
      const rowMs = performance.now() - r;
      if (s >= 50) {
        latencies.push(ms);
        rows.push(rowMs);
      }
    }
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rowP99: percentile(rows, 99), insertPerSecond };
  } finally {
    await db.close();
  }
}

/** Appends at a steady rate with the checkpointer running (default cadence); event → covering checkpoint latency, beside append → subscriber. */
async function checkpointLatency(url: string, dataDir: string, seconds: number, rate: number): Promise<{ p99: number; max: number; visibleP99: number }> {
  const db = new PostgresDriver({ connectionString: url, maxConnections: 8 });
  const store = await SqlEventStore.open(db);
  const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
  const checkpointer = new Checkpointer({ store, db, signer: trust.signers.checkpoint_signer, timestamper: createTimestamper(trust), origin: ORIGIN });
  const running = checkpointer.run();
  const appendedAt = new Map<number, number>();
  const covered: number[] = [];
  const visible: number[] = [];
  const sub = store.subscribe({ fromPosition: 1 });
  const watching = (async () => {
    for await (const m of sub) {
      if (m.kind !== 'event') continue;
      const t = appendedAt.get(m.event.position);
      if (t !== undefined) visible.push(performance.now() - t);
      const event = m.event;
      if (isEventOf('audit', event) && event.type === 'CheckpointSigned') {
        const size = event.data.treeSize;
        for (const [position, at] of appendedAt) {
          if (position <= size) {
            covered.push(performance.now() - at);
            appendedAt.delete(position);
          }
        }
      }
    }
  })();
  try {
    const bar = progress('steady load with checkpoints', seconds * rate);
    const started = performance.now();
    for (let i = 0; i < seconds * rate; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const at = performance.now();
      const result = await store.append(`enrollment-load${i}x${randomBytes(3).toString('hex')}`, [benchEvent(`L${i}`)], { expectedRevision: 'no_stream' });
      appendedAt.set(result.position, at);
      bar.tick();
    }
    bar.stop();
    const deadline = Date.now() + 10_000;
    while (appendedAt.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (appendedAt.size > 0) throw new Error(`${appendedAt.size} events were not covered by a checkpoint within 10 s`);
  } finally {
    await sub.close();
    await watching;
    await checkpointer.stop();
    await running;
    await store.close();
    await trust.close();
  }
  return { p99: percentile(covered, 99), max: Math.max(...covered), visibleP99: percentile(visible, 99) };
}

export async function benchAudit(o: AuditBenchOptions): Promise<BenchReport> {
  const dir = await mkdtemp(join(tmpdir(), 'registo-bench-audit-'));
  try {
    const file = join(dir, 'export.ndjson');
    const synthetic = await synthesiseExport(file, o.events, join(dir, 'keys'));
    process.stderr.write(`export: ${o.events} events, ${(synthetic.bytes / 2 ** 20).toFixed(0)} MiB\n`);
    const raw = await rawSha256Rate(file);
    const bar = progress('audit verify (MiB)', Math.round(synthetic.bytes / 2 ** 20));
    let shown = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    const report = await verifyExportStream(createReadStream(file, { highWaterMark: 1 << 20 }), {
      publicKeySpki: synthetic.spki,
      verifyTimestamp: (token, digest) => (checkTimestampToken(token, digest, synthetic.tsaPem, synthetic.caPem), true),
      onProgress: (bytes) => {
        const mib = Math.round(bytes / 2 ** 20);
        bar.tick(mib - shown);
        shown = mib;
      },
    });
    const verifyRate = report.events / ((performance.now() - started) / 1000);
    const used = process.cpuUsage(cpu);
    const verifyCpuRate = report.events / ((used.user + used.system) / 1e6);
    bar.stop();
    if (!report.ok) throw new Error(`the synthetic export did not verify: ${report.findings[0]?.message}`);
    process.stderr.write(`verified ${report.events} events, ${report.checkpoints} checkpoints, ${report.timestampsVerified} timestamps\n`);
    const proofs = await withBenchDatabase(o.adminUrl, (url) => proofLatency(url, synthetic.leaves, o.events, o.proofs));
    const latency = await withBenchDatabase(o.adminUrl, (url) => checkpointLatency(url, join(dir, 'keys'), o.loadSeconds, o.loadRate));
    return {
      bench: 'audit',
      results: [
        metric('audit verify events/s', verifyRate, 'events/s', 'raw SHA-256 of the same lines', raw.wall),
        // The machine is shared: per CPU-second of this process says what the code costs, whatever else runs.
        metric('audit verify events per CPU-second', verifyCpuRate, 'events/cpu-s', 'raw SHA-256 lines per CPU-second', raw.cpu),
        metric(`inclusion proof p99 at ${o.events}`, proofs.p99, 'ms', 'one primary-key row read p99', proofs.rowP99),
        metric(`inclusion proof p50 at ${o.events}`, proofs.p50, 'ms', 'one primary-key row read p99', proofs.rowP99),
        metric(`event → checkpoint p99 at ${o.loadRate}/s`, latency.p99, 'ms', 'append → subscriber p99', latency.visibleP99),
        metric(`event → checkpoint max at ${o.loadRate}/s`, latency.max, 'ms', 'checkpoint interval', 1000),
        metric('tree rows written', proofs.insertPerSecond, 'leaves/s', 'audit verify events/s', verifyRate),
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

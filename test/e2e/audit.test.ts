import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { PGliteDriver, PostgresDriver, SqlEventStore, type SqlDriver } from '@registo/event-store';
import { SoftwareSigner } from '@registo/hsm';
import {
  AUDIT_TREE_DDL,
  SqlTreeStore,
  ecdsaKeyId,
  hashLeaf,
  parseNote,
  signNote,
  verifyConsistency,
  verifyInclusion,
  type VerificationReport,
  readPublicKey,
  verifyExportStream,
  platformRoots,
  cosignedMessage,
  parseWitnessKey,
  verifyNoteSignature,
  witnessKeyId,
  witnessVerifierKey,
} from '@registo/audit';
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import { Checkpointer } from '@registo/consumers';
import { ApiTokens, type AuditHealthReport, createHttpApp, exportLines, registerAuditRoutes } from '@registo/gateways';
import { type TestDatabase, createTestDatabase, lifecycle, randomId, sql } from '../src/index.js';

const run = promisify(execFile);
const REGISTO = fileURLToPath(new URL('../../../cli/bin/registo.js', import.meta.url));
const ORIGIN = 'registo.test/audit';
const AUDITOR = { authorization: 'Bearer aud' };

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('audit: checkpointer, auditor API and offline verification on PostgreSQL', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let driver: SqlDriver;
  let store: SqlEventStore;
  let app: FastifyInstance;
  let base: string;
  let checkpointer: Checkpointer;
  let running: Promise<void>;
  let dir: string;
  const signer = SoftwareSigner.generate('checkpoint-test');
  const tree = new SqlTreeStore();
  const WITNESS = 'witness.test/w1';
  const witnessKeys = generateKeyPairSync('ed25519');
  const witnessPublic = Buffer.from(witnessKeys.publicKey.export({ format: 'jwk' }).x!, 'base64url');

  const startCheckpointer = (): void => {
    checkpointer = new Checkpointer({ store, db: driver, signer, origin: ORIGIN, cadence: { every: 40, intervalMs: 100 }, logger: createLogger('silent') });
    running = checkpointer.run();
  };
  const stopCheckpointer = async (): Promise<void> => {
    await checkpointer.stop();
    await running;
  };
  const get = async <T>(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text()) as T };
  };
  const latest = async (): Promise<{ treeSize: number; rootHash: string; note: string; position: number }> => (await get<{ treeSize: number; rootHash: string; note: string; position: number }>('/v1/audit/checkpoints/latest')).body;
  const verifyViaApi = async (workers = 0): Promise<VerificationReport> => {
    const res = await fetch(`${base}/v1/audit/export`, { headers: AUDITOR });
    expect(res.status).to.equal(200);
    // With the platform's consistency proofs, as `registo audit verify <url>` uses them.
    return verifyExportStream(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), { publicKeySpki: await signer.publicKeySpki(), workers, earlierRoot: platformRoots(base) });
  };
  const health = async (): Promise<AuditHealthReport> => (await get<AuditHealthReport>('/v1/audit/health', AUDITOR)).body;

  async function appendEnrollments(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const id = randomId();
      await store.append(`enrollment-${id}`, lifecycle(id, 1 + (i % 5), 'approve'), { expectedRevision: 'no_stream' });
    }
  }

  before(async () => {
    database = await createTestDatabase('registo_audit');
    driver = new PostgresDriver({ connectionString: database.url, maxConnections: 6 });
    store = await SqlEventStore.open(driver);
    dir = await mkdtemp(join(tmpdir(), 'registo-audit-'));
    await appendEnrollments(30);
    await driver.migrate(AUDIT_TREE_DDL);
    startCheckpointer();
    app = createHttpApp(createLogger('silent'));
    const spki = await signer.publicKeySpki();
    registerAuditRoutes(app, {
      db: driver,
      store,
      tokens: ApiTokens.parse('aud:auditor-1:auditor,cli:client-1:registration_client'),
      keys: { origin: ORIGIN, checkpointSpki: spki, checkpointCertificatePem: '(test: no certificate)', tsaCertificatePem: null, caCertificatePems: [], signerMode: 'non_qualified' },
      witnesses: [parseWitnessKey(witnessVerifierKey(WITNESS, witnessPublic))],
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const head = await store.headPosition();
    await until('a checkpoint covering the first events', async () => (await tree.checkpoints(driver, { latest: true, limit: 1 }))[0]?.treeSize === head);
  });

  after(async () => {
    await checkpointer?.stop().catch(() => undefined);
    await app?.close();
    await store?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs chained checkpoints that cover the log, and an idle log stops signing', async () => {
    const first = await latest();
    expect(first.note).to.match(/^registo\.test\/audit\n\d+\n[A-Za-z0-9+/]{43}=\n/);
    expect(first.note).to.include('\nsigner-mode non_qualified\n');
    // Idle: at most the checkpoint that covers the last checkpoint's own event... and then nothing.
    await new Promise((r) => setTimeout(r, 800));
    const idle = (await get<{ items: unknown[] }>('/v1/audit/checkpoints?limit=1000')).body.items.length;
    await new Promise((r) => setTimeout(r, 800));
    expect((await get<{ items: unknown[] }>('/v1/audit/checkpoints?limit=1000')).body.items.length).to.equal(idle);
    const head = await store.headPosition();
    expect((await latest()).treeSize).to.equal(head - 1); // everything but the last checkpoint's own event

    await appendEnrollments(40);
    const started = Date.now();
    const target = await store.headPosition();
    await until('a checkpoint over the new events', async () => (await latest()).treeSize >= target);
    process.stderr.write(`      (checkpoint ${Date.now() - started} ms after the last append)\n`);

    const items = (await get<{ items: Array<{ treeSize: number; note: string }> }>('/v1/audit/checkpoints?limit=1000')).body.items;
    expect(items.length).to.be.greaterThan(2);
    for (let i = 1; i < items.length; i++) {
      expect(items[i]!.treeSize).to.be.greaterThan(items[i - 1]!.treeSize);
      const previous = (await import('node:crypto')).createHash('sha256').update(items[i - 1]!.note).digest('base64');
      expect(items[i]!.note, `checkpoint ${i}`).to.include(`\nprevious ${previous}\n`);
    }
    expect(items[0]!.note).not.to.include('\nprevious ');
  });

  it('answers inclusion proofs for every position and consistency proofs between checkpoints, which verify', async () => {
    const c = await latest();
    const root = Buffer.from(c.rootHash, 'hex');
    const events = await store.readAll({ fromPosition: 1, maxCount: c.treeSize });
    for (const e of events) {
      const { body } = await get<{ leafHash: string; proof: string[]; rootHash: string }>(`/v1/audit/proofs/inclusion?position=${e.position}&treeSize=${c.treeSize}`);
      const leaf = hashLeaf(Buffer.from((await import('@registo/schemas')).hashInput(e)));
      expect(body.leafHash).to.equal(leaf.toString('hex'));
      expect(body.rootHash).to.equal(c.rootHash);
      expect(verifyInclusion(leaf, e.position - 1, c.treeSize, body.proof.map((h) => Buffer.from(h, 'hex')), root), `position ${e.position}`).to.equal(true);
    }
    const all = (await get<{ items: Array<{ treeSize: number; rootHash: string }> }>('/v1/audit/checkpoints?limit=1000')).body.items;
    for (const earlier of all.slice(0, -1)) {
      const { body } = await get<{ proof: string[]; firstRootHash: string }>(`/v1/audit/proofs/consistency?from=${earlier.treeSize}&to=${c.treeSize}`);
      expect(body.firstRootHash).to.equal(earlier.rootHash);
      expect(verifyConsistency(earlier.treeSize, Buffer.from(earlier.rootHash, 'hex'), c.treeSize, root, body.proof.map((h) => Buffer.from(h, 'hex')))).to.equal(true);
    }
    const beyond = await get<{ code: string }>(`/v1/audit/proofs/inclusion?position=1&treeSize=${c.treeSize + 1000}`);
    expect(beyond.status).to.equal(400);
    expect(beyond.body.code).to.equal('AUDIT_TREE_SIZE_INVALID');
    expect((await get<{ code: string }>('/v1/audit/proofs/inclusion?position=abc')).body.code).to.equal('REQUEST_INVALID');
    expect((await get<{ code: string }>('/v1/audit/export')).status).to.equal(401);
    expect((await get<{ code: string }>('/v1/audit/export', { authorization: 'Bearer cli' })).status).to.equal(403);
  });

  it('the checkpoint signature verifies with openssl dgst over the note body, with the published key', async () => {
    const note = (await get<string>('/v1/audit/checkpoint')).body;
    const keys = (await get<{ checkpoint: { publicKeyPem: string; keyId: string; keyName: string } }>('/v1/audit/keys')).body;
    const parsed = parseNote(note);
    expect(parsed.signatures[0]!.keyId.toString('hex')).to.equal(keys.checkpoint.keyId);
    expect(keys.checkpoint.keyId).to.equal(ecdsaKeyId(await signer.publicKeySpki()).toString('hex'));
    await writeFile(join(dir, 'body.txt'), parsed.body);
    await writeFile(join(dir, 'sig.der'), parsed.signatures[0]!.signature);
    await writeFile(join(dir, 'checkpoint.pem'), keys.checkpoint.publicKeyPem);
    const ok = await run('openssl', ['dgst', '-sha256', '-verify', join(dir, 'checkpoint.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'body.txt')]);
    expect(ok.stdout.trim()).to.equal('Verified OK');
    await writeFile(join(dir, 'body.txt'), parsed.body.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`));
    const bad = await run('openssl', ['dgst', '-sha256', '-verify', join(dir, 'checkpoint.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'body.txt')]).catch((e: { stdout: string }) => e);
    expect(bad.stdout.trim()).to.equal('Verification failure');
  });

  it('accepts C2SP witness cosignatures from known witnesses and shows them on the checkpoint', async () => {
    const c = await latest();
    const body = parseNote(c.note).body;
    const cosign = (key = witnessKeys.privateKey, name = WITNESS, t = Math.floor(Date.now() / 1000)): string => {
      const ts = Buffer.alloc(8);
      ts.writeBigUInt64BE(BigInt(t));
      return `— ${name} ${Buffer.concat([witnessKeyId(name, witnessPublic), ts, edSign(null, cosignedMessage(body, t), key)]).toString('base64')}`;
    };
    const post = (text: string) => fetch(`${base}/v1/audit/checkpoints/${c.treeSize}/cosignatures`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });
    const line = cosign();
    const ok = await post(`${line}\n`);
    expect(ok.status).to.equal(200);
    expect(((await ok.json()) as { accepted: Array<{ witness: string }> }).accepted.map((a) => a.witness)).to.deep.equal([WITNESS]);
    const note = (await get<string>('/v1/audit/checkpoint')).body;
    expect(note).to.equal(`${c.note}${line}\n`);
    const parsed = parseNote(note);
    expect(parsed.signatures.map((s) => s.keyName)).to.deep.equal([ORIGIN, WITNESS]);
    expect(verifyNoteSignature(parsed, ORIGIN, await signer.publicKeySpki())).to.equal(true);
    expect((await get<{ cosignatures: Array<{ witness: string }> }>(`/v1/audit/checkpoints/${c.treeSize}`)).body.cosignatures.map((s) => s.witness)).to.deep.equal([WITNESS]);
    expect((await get<{ witnesses: string[] }>('/v1/audit/keys')).body.witnesses).to.deep.equal([witnessVerifierKey(WITNESS, witnessPublic)]);
    // Refused: another key under the witness's name, a forged signature, a checkpoint that does not exist.
    const stranger = await post(cosign(generateKeyPairSync('ed25519').privateKey));
    expect(stranger.status).to.equal(400);
    expect(((await stranger.json()) as { code: string }).code).to.equal('AUDIT_COSIGNATURE_INVALID');
    const raw = Buffer.from(line.split(' ')[2]!, 'base64');
    raw[20]! ^= 1;
    expect((await post(`— ${WITNESS} ${raw.toString('base64')}`)).status).to.equal(400);
    expect((await post(cosign(undefined, 'unknown.test/w'))).status).to.equal(400);
    expect((await fetch(`${base}/v1/audit/checkpoints/999999/cosignatures`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: line })).status).to.equal(404);
  });

  it('an export verifies offline, with the library and with `registo audit verify`; the health view is ok', async () => {
    await stopCheckpointer();
    const report = await verifyViaApi();
    expect(report.findings).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.events).to.equal(await store.headPosition());
    expect(report.checkpoints).to.be.greaterThan(2);
    expect((await health()).status).to.equal('ok');
    // The hashing spread over worker threads gives the same report.
    const threaded = await verifyExportStream(Readable.fromWeb((await fetch(`${base}/v1/audit/export`, { headers: AUDITOR })).body as import('node:stream/web').ReadableStream<Uint8Array>), { publicKeySpki: await signer.publicKeySpki(), workers: 2 });
    expect(threaded).to.deep.equal(report);

    const file = join(dir, 'export.ndjson');
    await writeFile(file, await (await fetch(`${base}/v1/audit/export`, { headers: AUDITOR })).text());
    const cli = await run(process.execPath, [REGISTO, 'audit', 'verify', file, '--public-key', join(dir, 'checkpoint.pem'), '--json']);
    expect(JSON.parse(cli.stdout.trim().split('\n').pop()!)).to.include({ ok: true });
    // A partial export (from the middle) verifies against the checkpoints it holds.
    const res = await fetch(`${base}/v1/audit/export?from=37`, { headers: AUDITOR });
    const partial = await verifyExportStream(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), { publicKeySpki: await signer.publicKeySpki() });
    expect(partial.findings).to.deep.equal([]);
    expect(partial.from).to.equal(37);
    // An export that ends at the last signed size carries that checkpoint as a trailing line.
    const last = await latest();
    const upTo = await fetch(`${base}/v1/audit/export?to=${last.treeSize}`, { headers: AUDITOR });
    const text = await upTo.text();
    expect(text.trim().split('\n').pop()).to.include('"kind":"checkpoint"');
    const upToReport = await verifyExportStream(Readable.from([Buffer.from(text)]), { publicKeySpki: await signer.publicKeySpki() });
    expect(upToReport.findings).to.deep.equal([]);
    expect(upToReport.to).to.equal(last.treeSize);
    expect(upToReport.uncoveredAfter).to.equal(last.treeSize);
    expect(upToReport.checkpoints).to.equal((await get<{ items: unknown[] }>('/v1/audit/checkpoints?limit=1000')).body.items.length);
    // Another key: every checkpoint signature fails, and the exit code says so.
    await writeFile(join(dir, 'other.pem'), (await import('node:crypto')).createPublicKey({ key: await SoftwareSigner.generate('x').publicKeySpki(), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }));
    const wrong = await run(process.execPath, [REGISTO, 'audit', 'verify', file, '--public-key', join(dir, 'other.pem')]).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((wrong as { code: number }).code).to.equal(1);
    expect((wrong as { stderr: string }).stderr).to.include('AUDIT_VERIFICATION_FAILED');
  });

  it('`registo audit verify` on an export with 30 changed events and a deletion reports all 31, the deletion included; another origin fails', async () => {
    const text = await (await fetch(`${base}/v1/audit/export`, { headers: AUDITOR })).text();
    const lines = text.trimEnd().split('\n');
    const events = lines.map((line, i) => ({ line, i })).filter(({ line }) => line.startsWith('{"position":') && !line.endsWith('"type":"CheckpointSigned"}}'));
    const positionOf = (line: string): number => Number(/^\{"position":(\d+)/.exec(line)![1]);
    // One byte of each of 30 events (the first character of its eventId), then a later event deleted.
    const changed = events.slice(0, 30);
    for (const { i } of changed) lines[i] = lines[i]!.replace(/"eventId":"([0-9a-f])/, (_m, c: string) => `"eventId":"${c === '0' ? '1' : '0'}`);
    const victim = events[40]!;
    lines.splice(victim.i, 1);
    const file = join(dir, 'tampered.ndjson');
    await writeFile(file, `${lines.join('\n')}\n`);
    type Failed = { code: number; stdout: string; stderr: string };
    const verify = (...args: string[]): Promise<Failed> =>
      run(process.execPath, [REGISTO, 'audit', 'verify', ...args, '--public-key', join(dir, 'checkpoint.pem')]).then((r) => ({ code: 0, ...r }), (e: Failed) => e);

    const json = await verify(file, '--json');
    expect(json.code).to.equal(1);
    const report = JSON.parse(json.stdout.trim().split('\n').pop()!) as VerificationReport;
    expect(report.findingsTotal).to.equal(31);
    expect(report.findingsOmitted).to.equal(0);
    expect(report.findings.map((f) => [f.position, f.check])).to.deep.equal([...changed.map(({ line }) => [positionOf(line), 'event-hash']), [positionOf(victim.line), 'position-missing']]);
    expect(json.stderr).to.include(`AUDIT_VERIFICATION_FAILED at position ${positionOf(changed[0]!.line)}`);
    // With a limit, the text report says how many it did not list and how to see them.
    const limited = await verify(file, '--max-findings', '10');
    expect(limited.code).to.equal(1);
    expect(limited.stdout.match(/^ {2}position /gm)).to.have.length(10);
    expect(limited.stdout).to.include('… and 21 more findings not listed (31 in all): pass --max-findings 0 to list every one');

    // A header naming another origin, and an origin pinned that is not the checkpoints'.
    const elsewhere = join(dir, 'elsewhere.ndjson');
    await writeFile(elsewhere, text.replace(`"origin":"${ORIGIN}"`, '"origin":"elsewhere.test/audit"'));
    const header = await verify(elsewhere, '--json');
    expect(header.code).to.equal(1);
    expect((JSON.parse(header.stdout.trim().split('\n').pop()!) as VerificationReport).findings.map((f) => f.check)).to.deep.equal(['origin']);
    const original = join(dir, 'original.ndjson');
    await writeFile(original, text);
    const pinned = await verify(original, '--origin', 'elsewhere.test/audit', '--json');
    expect(pinned.code).to.equal(1);
    expect(new Set((JSON.parse(pinned.stdout.trim().split('\n').pop()!) as VerificationReport).findings.map((f) => f.check))).to.deep.equal(new Set(['origin']));
    expect((await verify(original, '--origin', ORIGIN)).code).to.equal(0);

    // An event rewritten in the file with both its hashes: the signed roots give a span; the
    // platform's consistency proofs (--proofs) bisect it down to the position.
    const rewritten = text.trimEnd().split('\n');
    const target = events[20]!;
    const position = positionOf(target.line);
    const body = target.line.slice(target.line.indexOf('"event":') + '"event":'.length, -1).replace(/"eventId":"([0-9a-f])/, (_m, c: string) => `"eventId":"${c === '0' ? '1' : '0'}`);
    const { createHash } = await import('node:crypto');
    const { hashLeafText } = await import('@registo/audit');
    rewritten[target.i] = `{"position":${position},"hash":"${createHash('sha256').update(body).digest('hex')}","leafHash":"${hashLeafText(body).toString('hex')}","event":${body}}`;
    const rewrittenFile = join(dir, 'rewritten.ndjson');
    await writeFile(rewrittenFile, `${rewritten.join('\n')}\n`);
    const span = JSON.parse((await verify(rewrittenFile, '--json')).stdout.trim().split('\n').pop()!) as VerificationReport;
    expect(span.findings).to.have.length(1);
    expect(span.findings[0]!.check).to.equal('checkpoint-root');
    expect(span.findings[0]!.position).to.be.at.most(position);
    expect(span.findings[0]!.through).to.be.at.least(position);
    const bisected = await verify(rewrittenFile, '--proofs', base, '--json');
    expect(bisected.code).to.equal(1);
    const exact = JSON.parse(bisected.stdout.trim().split('\n').pop()!) as VerificationReport;
    expect(exact.findings.map((f) => [f.position, f.through, f.check])).to.deep.equal([[position, undefined, 'checkpoint-root']]);
  });

  async function tamperCase(
    label: string,
    tamper: () => Promise<void>,
    restore: () => Promise<void>,
    expectedPosition: number | ((p: number) => boolean),
    checks: string[],
    more?: (report: VerificationReport, health: AuditHealthReport) => void | Promise<void>,
  ): Promise<void> {
    await tamper();
    try {
      const report = await verifyViaApi();
      expect(report.ok, label).to.equal(false);
      expect(await verifyViaApi(2), `${label}: threads`).to.deep.equal(report);
      if (typeof expectedPosition === 'number') expect(report.findings[0]!.position, `${label}: verify locates it`).to.equal(expectedPosition);
      else expect(expectedPosition(report.findings[0]!.position), `${label}: verify locates it at ${report.findings[0]!.position}`).to.equal(true);
      expect(checks, `${label}: ${report.findings[0]!.check}`).to.include(report.findings[0]!.check);
      const h = await health();
      expect(h.status, label).to.equal('failed');
      expect(h.firstBadPosition, `${label}: health locates it`).to.equal(report.findings[0]!.position);
      expect(h.findings[0]!.through, `${label}: as precisely`).to.equal(report.findings[0]!.through);
      expect(h.findings[0]!.check, `${label}: health names it as verify does`).to.equal(report.findings[0]!.check);
      expect(h.findingsTotal, `${label}: every finding counted`).to.equal(h.findings.length);
      await more?.(report, h);
    } finally {
      await restore();
    }
    expect((await verifyViaApi()).ok, `${label}: restored`).to.equal(true);
  }

  it('tampering with the stored events or checkpoints is detected and located, by `audit verify` and the health view', async () => {
    const url = database.url;
    const target = 17;
    const [row] = (await sql(url, 'SELECT data::text AS data, hash FROM registo_events WHERE position = $1', [target])).rows as Array<{ data: string; hash: string }>;
    // 1. One byte of one event changed.
    await tamperCase(
      'one byte changed',
      () => sql(url, `UPDATE registo_events SET data = jsonb_set(data, '{regId}', to_jsonb(regexp_replace(data->>'regId', '^.', 'Z'))) WHERE position = $1`, [target]).then(() => undefined),
      () => sql(url, 'UPDATE registo_events SET data = $2::jsonb WHERE position = $1', [target, row!.data]).then(() => undefined),
      target,
      ['event-hash'],
    );
    // 1b. The same, with the stored hash recomputed to match: the tree still knows.
    const { computeHash } = await import('@registo/schemas');
    await tamperCase(
      'one byte changed and the hash recomputed',
      async () => {
        const [e] = await store.readAll({ fromPosition: target, maxCount: 1 });
        const changed = { ...e!, data: { ...e!.data, regId: `Z${String(e!.data.regId).slice(1)}` } };
        await sql(url, 'UPDATE registo_events SET data = $2::jsonb, hash = $3 WHERE position = $1', [target, JSON.stringify(changed.data), computeHash(changed)]);
      },
      () => sql(url, 'UPDATE registo_events SET data = $2::jsonb, hash = $3 WHERE position = $1', [target, row!.data, row!.hash]).then(() => undefined),
      target,
      ['leaf-hash'],
    );
    // 1c. The same, with the leaf the tree recorded rewritten too: only a signed root can tell,
    // between the last checkpoint before it and the first after it; verify and health agree.
    const [leafRow] = (await sql(url, 'SELECT encode(nodes, \'hex\') AS nodes FROM registo_audit_tree WHERE leaf_index = $1', [target - 1])).rows as Array<{ nodes: string }>;
    const sizes = (await get<{ items: Array<{ treeSize: number }> }>('/v1/audit/checkpoints?limit=1000')).body.items.map((c) => c.treeSize);
    await tamperCase(
      'one byte changed, its hash and its recorded leaf rewritten',
      async () => {
        const [e] = await store.readAll({ fromPosition: target, maxCount: 1 });
        const changed = { ...e!, data: { ...e!.data, regId: `Z${String(e!.data.regId).slice(1)}` } };
        await sql(url, 'UPDATE registo_events SET data = $2::jsonb, hash = $3 WHERE position = $1', [target, JSON.stringify(changed.data), computeHash(changed)]);
        const { eventLeafHash } = await import('@registo/audit');
        await sql(url, 'UPDATE registo_audit_tree SET nodes = overlay(nodes placing $2 from 1 for 32) WHERE leaf_index = $1', [target - 1, eventLeafHash(changed)]);
      },
      async () => {
        await sql(url, 'UPDATE registo_events SET data = $2::jsonb, hash = $3 WHERE position = $1', [target, row!.data, row!.hash]);
        await sql(url, 'UPDATE registo_audit_tree SET nodes = decode($2, \'hex\') WHERE leaf_index = $1', [target - 1, leafRow!.nodes]);
      },
      // Bisected with the platform's proofs as far as they verify (the altered tree's own leaf stops them near it).
      (p) => p >= Math.max(0, ...sizes.filter((s) => s < target)) + 1 && p <= target,
      ['checkpoint-root'],
    );
    // 2. An event deleted.
    const [saved] = (await sql(url, 'SELECT * FROM registo_events WHERE position = $1', [target])).rows as Array<Record<string, unknown>>;
    await tamperCase(
      'event deleted',
      () => sql(url, 'DELETE FROM registo_events WHERE position = $1', [target]).then(() => undefined),
      () =>
        sql(url, 'INSERT INTO registo_events (position, event_id, stream_id, category, revision, type, schema_version, data, metadata, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)', [
          saved!.position, saved!.event_id, saved!.stream_id, saved!.category, saved!.revision, saved!.type, saved!.schema_version, JSON.stringify(saved!.data), JSON.stringify(saved!.metadata), saved!.hash,
        ]).then(() => undefined),
      target,
      ['position-missing'],
    );
    // 2b. A second row at one position and another position emptied, as two processes writing one
    // embedded data dir left it: the table's keys are dropped first, as they were lost there.
    const keys = (await sql(url, "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'registo_events'::regclass AND contype IN ('p', 'u')")).rows as Array<{ conname: string; def: string }>;
    const [moved] = (await sql(url, 'SELECT * FROM registo_events WHERE position = 20')).rows as Array<Record<string, unknown>>;
    await tamperCase(
      'a position held twice, another missing',
      async () => {
        for (const k of keys) await sql(url, `ALTER TABLE registo_events DROP CONSTRAINT ${k.conname}`);
        await sql(url, 'INSERT INTO registo_events SELECT * FROM registo_events WHERE position = 12');
        await sql(url, 'DELETE FROM registo_events WHERE position = 20');
      },
      async () => {
        await sql(url, 'DELETE FROM registo_events WHERE ctid = (SELECT max(ctid) FROM registo_events WHERE position = 12)');
        await sql(url, 'INSERT INTO registo_events (position, event_id, stream_id, category, revision, type, schema_version, data, metadata, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)', [
          moved!.position, moved!.event_id, moved!.stream_id, moved!.category, moved!.revision, moved!.type, moved!.schema_version, JSON.stringify(moved!.data), JSON.stringify(moved!.metadata), moved!.hash,
        ]);
        for (const k of keys) await sql(url, `ALTER TABLE registo_events ADD CONSTRAINT ${k.conname} ${k.def}`);
      },
      12,
      ['position-duplicated'],
      async (report, h) => {
        expect(report.findings.map((f) => [f.position, f.check])).to.deep.equal([
          [12, 'position-duplicated'],
          [20, 'position-missing'],
        ]);
        expect(report).to.include({ positionsDuplicated: 1, positionsMissing: 1 });
        expect(h.findings.map((f) => [f.position, f.check])).to.deep.equal([
          [12, 'position-duplicated'],
          [20, 'position-missing'],
        ]);
        expect(h).to.include({ positionsDuplicated: 1, positionsMissing: 1 });
        // Pages that end between the two rows at 12 still export both.
        let exported = '';
        for await (const chunk of exportLines({ db: driver, store, origin: ORIGIN, from: 1, to: 25, pageSize: 3 })) exported += chunk;
        expect(exported.match(/^\{"position":12,/gm), 'both rows at 12 exported').to.have.length(2);
      },
    );
    // 3. Two events swapped.
    const swap = (a: number, b: number) => async () => {
      await sql(url, 'UPDATE registo_events SET position = -1 WHERE position = $1', [a]);
      await sql(url, 'UPDATE registo_events SET position = $1 WHERE position = $2', [a, b]);
      await sql(url, 'UPDATE registo_events SET position = $1 WHERE position = -1', [b]);
    };
    await tamperCase('two events reordered', swap(12, 20), swap(12, 20), 12, ['leaf-hash']);
    // 4. A checkpoint replaced: a well-formed note over another root, signed by another key, hash recomputed.
    const [cp] = await store.readStream('audit-checkpoints', { maxCount: 1 });
    const forger = SoftwareSigner.generate('forger');
    const forgedBody = `${ORIGIN}\n${(cp!.data as { treeSize: number }).treeSize}\n${Buffer.alloc(32, 7).toString('base64')}\nsigner-mode non_qualified\n`;
    const forgedNote = await signNote(forgedBody, ORIGIN, await forger.publicKeySpki(), (d) => forger.sign(d));
    const [cpRow] = (await sql(url, 'SELECT data::text AS data, hash FROM registo_events WHERE position = $1', [cp!.position])).rows as Array<{ data: string; hash: string }>;
    await tamperCase(
      'checkpoint replaced',
      async () => {
        const forged = { ...cp!, data: { ...cp!.data, note: forgedNote, rootHash: Buffer.alloc(32, 7).toString('hex') } };
        await sql(url, 'UPDATE registo_events SET data = $2::jsonb, hash = $3 WHERE position = $1', [cp!.position, JSON.stringify(forged.data), computeHash(forged)]);
      },
      () => sql(url, 'UPDATE registo_events SET data = $2::jsonb, hash = $3 WHERE position = $1', [cp!.position, cpRow!.data, cpRow!.hash]).then(() => undefined),
      cp!.position,
      ['leaf-hash', 'checkpoint-signature'],
    );
  });

  it('after a restart it carries on from its committed tree; an event changed before it was seen stops the tree there', async () => {
    await appendEnrollments(5);
    startCheckpointer();
    await until('caught up after restart', async () => (await tree.size(driver)) === (await store.headPosition()));
    await stopCheckpointer();
    const before = await tree.size(driver);
    // An event altered before the checkpointer reads it is never made a leaf.
    await appendEnrollments(3);
    const victim = await store.headPosition();
    await sql(database.url, `UPDATE registo_events SET data = jsonb_set(data, '{regId}', '"tampered"') WHERE position = $1`, [victim]);
    startCheckpointer();
    const failure = (await running.catch((e: unknown) => e)) as { code?: string; details?: { position?: number } };
    expect(failure?.code).to.equal('EVENT_INTEGRITY_VIOLATION');
    expect(failure.details?.position).to.equal(victim);
    expect(await tree.size(driver)).to.be.lessThan(victim).and.at.least(before);
    expect((await latest()).treeSize).to.be.lessThan(victim);
  });

  it('the log keeps one origin: a log signed before the pin is pinned to its first checkpoint\'s, and no chain continues under another', async () => {
    const { pinLogOrigin } = await import('@registo/audit');
    // No pin yet in this world, but signed checkpoints: their origin is the log's, whatever is configured.
    expect(await pinLogOrigin(driver, store, { origin: 'derived.test/audit', explicit: false })).to.equal(ORIGIN);
    expect((await sql(database.url, 'SELECT origin FROM registo_audit_origin')).rows).to.deep.equal([{ origin: ORIGIN }]);
    const explicit = await pinLogOrigin(driver, store, { origin: 'renamed.test/audit', explicit: true }).catch((e: unknown) => e);
    expect((explicit as { code?: string }).code).to.equal('AUDIT_ORIGIN_CHANGED');
    const renamed = new Checkpointer({ store, db: driver, signer, origin: 'renamed.test/audit', cadence: { every: 1, intervalMs: 10 }, logger: createLogger('silent') });
    const head = (await latest()).treeSize;
    const failure = (await renamed.run().catch((e: unknown) => e)) as { code?: string };
    expect(failure?.code).to.equal('AUDIT_ORIGIN_CHANGED');
    expect((await latest()).treeSize, 'nothing signed').to.equal(head);
  });
});

describe('audit: the checkpointer on embedded PGlite', function () {
  this.timeout(60_000);
  it('builds the same tree and signs a checkpoint that the verifier accepts', async () => {
    const driver = await PGliteDriver.open();
    const store = await SqlEventStore.open(driver);
    for (let i = 0; i < 12; i++) {
      const id = randomId();
      await store.append(`enrollment-${id}`, lifecycle(id, 3, 'approve'), { expectedRevision: 'no_stream' });
    }
    const signer = SoftwareSigner.generate('pglite');
    await driver.migrate(AUDIT_TREE_DDL);
    const checkpointer = new Checkpointer({ store, db: driver, signer, origin: ORIGIN, cadence: { every: 10_000, intervalMs: 50 } });
    const running = checkpointer.run();
    const tree = new SqlTreeStore();
    await until('checkpoint', async () => (await tree.checkpoints(driver, { latest: true, limit: 1 }))[0]?.treeSize === 36);
    await checkpointer.stop();
    await running;
    const lines: string[] = [JSON.stringify({ kind: 'registo-audit-export', version: 1, origin: ORIGIN, from: 1, to: 37, prefix: { size: 0, edge: [] }, exportedAt: new Date().toISOString() })];
    const { exportEventLine } = await import('@registo/audit');
    const leaves = await tree.leafHashes(driver, 0, 37);
    for (const e of await store.readAll({ fromPosition: 1, maxCount: 100 })) lines.push(exportEventLine(e, leaves.get(e.position - 1)!));
    const report = await verifyExportStream(Readable.from([Buffer.from(`${lines.join('\n')}\n`)]), { publicKeySpki: readPublicKey((await import('node:crypto')).createPublicKey({ key: await signer.publicKeySpki(), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string) });
    expect(report.findings).to.deep.equal([]);
    expect(report.checkpoints).to.equal(1);
    await store.close();
  });
});

describe('audit: checkpoints signed with the hierarchy checkpoint key and timestamped by its TSA', function () {
  this.timeout(120_000);
  it('the token verifies with openssl ts -verify over the note, and in `audit verify`', async () => {
    const { openTrustKeys, createTimestamper } = await import('@registo/trust');
    const { checkTimestampToken, noteDigest } = await import('@registo/audit');
    const dir = await mkdtemp(join(tmpdir(), 'registo-audit-tsa-'));
    const database = await createTestDatabase('registo_audit_tsa');
    const driver = new PostgresDriver({ connectionString: database.url, maxConnections: 4 });
    const store = await SqlEventStore.open(driver);
    const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir: dir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
    try {
      await driver.migrate(AUDIT_TREE_DDL);
      for (let i = 0; i < 8; i++) {
        const id = randomId();
        await store.append(`enrollment-${id}`, lifecycle(id, 2, 'approve'), { expectedRevision: 'no_stream' });
      }
      const checkpointer = new Checkpointer({ store, db: driver, signer: trust.signers.checkpoint_signer, timestamper: createTimestamper(trust), origin: ORIGIN, cadence: { every: 10_000, intervalMs: 50 } });
      const running = checkpointer.run();
      await until('a timestamped checkpoint', async () => (await store.readStream('audit-checkpoints').catch(() => [])).length > 0);
      await until('its event in the tree', async () => (await new SqlTreeStore().size(driver)) === (await store.headPosition()));
      await checkpointer.stop();
      await running;
      const [event] = await store.readStream('audit-checkpoints');
      const data = event!.data as { note: string; timestampToken: string; signerMode: string };
      expect(data.signerMode).to.equal('non_qualified');
      expect(data.timestampToken).to.be.a('string');
      await writeFile(join(dir, 'note.txt'), data.note);
      await writeFile(join(dir, 'token.der'), Buffer.from(data.timestampToken, 'base64'));
      await writeFile(join(dir, 'chain.pem'), trust.certificates.identity_ca.pem + trust.certificates.tsa_signer.pem);
      const ts = await run('openssl', ['ts', '-verify', '-token_in', '-in', join(dir, 'token.der'), '-data', join(dir, 'note.txt'), '-CAfile', join(trust.trustDir, 'root-ca.pem'), '-untrusted', join(dir, 'chain.pem')]);
      expect(ts.stdout).to.include('Verification: OK');
      await writeFile(join(dir, 'note.txt'), `${data.note} `);
      const bad = await run('openssl', ['ts', '-verify', '-token_in', '-in', join(dir, 'token.der'), '-data', join(dir, 'note.txt'), '-CAfile', join(trust.trustDir, 'root-ca.pem'), '-untrusted', join(dir, 'chain.pem')]).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${bad.stdout}${bad.stderr}`).to.include('Verification: FAILED');

      const token = Buffer.from(data.timestampToken, 'base64');
      expect(() => checkTimestampToken(token, noteDigest(data.note), trust.certificates.tsa_signer.pem, trust.certificates.identity_ca.pem)).not.to.throw();
      expect(() => checkTimestampToken(token, noteDigest(`${data.note}x`), trust.certificates.tsa_signer.pem)).to.throw(/message imprint/);
      expect(() => checkTimestampToken(token, noteDigest(data.note), trust.certificates.ocsp_signer.pem)).to.throw(/signature/);
      expect(() => checkTimestampToken(token, noteDigest(data.note), trust.certificates.tsa_signer.pem, trust.certificates.root_ca.pem)).to.throw(/issued/);

      // The checkpoint key as its certificate publishes it; the export verified with timestamps.
      const { exportEventLine } = await import('@registo/audit');
      const tree = new SqlTreeStore();
      const head = await store.headPosition();
      const leaves = await tree.leafHashes(driver, 0, head);
      const lines = [JSON.stringify({ kind: 'registo-audit-export', version: 1, origin: ORIGIN, from: 1, to: head, prefix: { size: 0, edge: [] }, exportedAt: new Date().toISOString() })];
      for (const e of await store.readAll({ fromPosition: 1, maxCount: head })) lines.push(exportEventLine(e, leaves.get(e.position - 1)!));
      await writeFile(join(dir, 'export.ndjson'), `${lines.join('\n')}\n`);
      await writeFile(join(dir, 'identity-ca.pem'), trust.certificates.identity_ca.pem);
      const cli = await run(process.execPath, [REGISTO, 'audit', 'verify', join(dir, 'export.ndjson'), '--public-key', join(trust.trustDir, 'checkpoint.pem'), '--tsa-cert', join(trust.trustDir, 'tsa.pem'), '--ca', join(dir, 'identity-ca.pem'), '--json']);
      const report = JSON.parse(cli.stdout.trim().split('\n').pop()!) as VerificationReport;
      expect(report.ok).to.equal(true);
      expect(report.checkpoints).to.equal(1);
      expect(report.timestampsVerified).to.equal(1);
    } finally {
      await store.close();
      await trust.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('audit: checkpoints signed inside a SoftHSM2 token (qualified)', function () {
  this.timeout(180_000);
  it('the note carries no software label, and its signature and timestamp verify with openssl', async () => {
    const { openTrustKeys, performKeyCeremony, createTimestamper } = await import('@registo/trust');
    const { testSoftHsm } = await import('../src/support/softhsm.js');
    const hsm = await testSoftHsm();
    const signerConfig = { mode: 'qualified' as const, pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
    const dir = await mkdtemp(join(tmpdir(), 'registo-audit-hsm-'));
    const database = await createTestDatabase('registo_audit_hsm');
    const driver = new PostgresDriver({ connectionString: database.url, maxConnections: 4 });
    const store = await SqlEventStore.open(driver);
    await performKeyCeremony({ signer: signerConfig, dataDir: dir, publicUrl: 'http://127.0.0.1:8080' });
    const trust = await openTrustKeys({ signer: signerConfig, dataDir: dir, publicUrl: 'http://127.0.0.1:8080' });
    try {
      expect(trust.signers.checkpoint_signer.mode).to.equal('qualified');
      await driver.migrate(AUDIT_TREE_DDL);
      for (let i = 0; i < 5; i++) {
        const id = randomId();
        await store.append(`enrollment-${id}`, lifecycle(id, 2, 'approve'), { expectedRevision: 'no_stream' });
      }
      const checkpointer = new Checkpointer({ store, db: driver, signer: trust.signers.checkpoint_signer, timestamper: createTimestamper(trust), origin: ORIGIN, cadence: { every: 10_000, intervalMs: 50 } });
      const running = checkpointer.run();
      await until('a checkpoint signed in the token', async () => (await store.readStream('audit-checkpoints').catch(() => [])).length > 0);
      await checkpointer.stop();
      await running;
      const [event] = await store.readStream('audit-checkpoints');
      const data = event!.data as { note: string; timestampToken: string; signerMode: string };
      expect(data.signerMode).to.equal('qualified');
      expect(data.note).not.to.include('signer-mode');
      const parsed = parseNote(data.note);
      await writeFile(join(dir, 'body.txt'), parsed.body);
      await writeFile(join(dir, 'sig.der'), parsed.signatures[0]!.signature);
      const { createPublicKey } = await import('node:crypto');
      await writeFile(join(dir, 'checkpoint-key.pem'), createPublicKey(trust.certificates.checkpoint_signer.pem).export({ type: 'spki', format: 'pem' }));
      const dgst = await run('openssl', ['dgst', '-sha256', '-verify', join(dir, 'checkpoint-key.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'body.txt')]);
      expect(dgst.stdout.trim()).to.equal('Verified OK');
      await writeFile(join(dir, 'note.txt'), data.note);
      await writeFile(join(dir, 'token.der'), Buffer.from(data.timestampToken, 'base64'));
      await writeFile(join(dir, 'chain.pem'), trust.certificates.identity_ca.pem + trust.certificates.tsa_signer.pem);
      const ts = await run('openssl', ['ts', '-verify', '-token_in', '-in', join(dir, 'token.der'), '-data', join(dir, 'note.txt'), '-CAfile', join(trust.trustDir, 'root-ca.pem'), '-untrusted', join(dir, 'chain.pem')]);
      expect(ts.stdout).to.include('Verification: OK');
    } finally {
      await store.close();
      await trust.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

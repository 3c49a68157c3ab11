import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { ensurePartnerTools, ensureInfra, partnerReadCommand, type PartnerTools } from '@registo/deploy';
import { createLogger } from '@registo/base';
import { type EventStore, openEventStore } from '@registo/event-store';
import { Mirror } from '@registo/producers';
import type { EventEnvelope } from '@registo/schemas';
import { createTestDatabase, enrollmentSubmitted, packetValidated, randomId, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { waitFor } from './processes.js';

/**
 * Interop: a partner reads our topic with tools nobody here wrote (Apache Kafka's console consumer + Apicurio's
 * Avro deserializer, from Maven Central), exactly as the README shows, and sees the events the store holds.
 */
describe('partner interop: Kafka console consumer + Apicurio Avro deserializer read a Registo topic', function () {
  this.timeout(600_000);
  let db: TestDatabase;
  let store: EventStore;
  let tools: PartnerTools;

  before(async () => {
    await ensureInfra();
    tools = await ensurePartnerTools({ onProgress: (m) => console.log(`      ${m}`) });
    db = await createTestDatabase();
    store = await openEventStore({ kind: 'postgres', url: db.url });
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });

  it('prints every message of <prefix>.enrollment.v1 as one JSON line equal to the stored event', async () => {
    const settings = testKafkaSettings('partner');
    const topic = `${settings.prefix}.enrollment.v1`;
    // Two union branches of `data`, a non-null nullable field (causationId), and text a JSON printer must escape.
    const ids = Array.from({ length: 5 }, () => randomId());
    for (const [i, id] of ids.entries()) {
      const submitted = enrollmentSubmitted(id, i === 0 ? { operatorId: 'operadora "Conceição" \\ São Tomé\n✓' } : {});
      const { events } = await store.append(`enrollment-${id}`, [submitted], { expectedRevision: 'no_stream' });
      if (i < 2) {
        await store.append(`enrollment-${id}`, [{ ...packetValidated(id), metadata: { causationId: events[0]!.eventId } }], { expectedRevision: 0 });
      }
    }
    const stored = await store.readAll({ maxCount: 100 });
    expect(stored).to.have.length(7);

    const mirror = new Mirror({ store, settings, logger: createLogger('error') });
    const running = mirror.run();
    try {
      await waitFor('the mirror to publish every event', async () => mirror.status().position >= stored.length, 120_000);
    } finally {
      await mirror.stop();
      await running;
    }

    const cmd = partnerReadCommand(tools, {
      brokers: settings.brokers.join(','),
      topic,
      registryUrl: settings.registryUrl,
      maxMessages: stored.length,
    });
    console.log(`      ${cmd.display.replace(/\n/g, '\n      ')}`);
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      execFile(cmd.command, cmd.args, { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ stdout, stderr, code: error ? ((error as { code?: number }).code ?? null) : 0 }),
      );
    });
    expect(code, `exit code; stderr:\n${stderr}`).to.equal(0);
    expect(stderr).to.include(`Processed a total of ${stored.length} messages`);

    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    expect(lines, stdout).to.have.length(stored.length);
    const decoded = lines.map((l) => JSON.parse(l) as EventEnvelope);
    const byId = new Map(stored.map((e) => [e.eventId, e]));
    for (const m of decoded) {
      const original = byId.get(m.eventId);
      expect(original, `event ${m.eventId} is in the store`).to.not.equal(undefined);
      const regId = m.streamId.slice('enrollment-'.length);
      expect(m.streamId).to.equal(original!.streamId);
      expect(ids).to.include(regId);
      expect(m.type).to.equal(original!.type);
      expect(m.position).to.equal(original!.position);
      expect(m.revision).to.equal(original!.revision);
      expect(m.hash).to.equal(original!.hash);
      // `data` is the union branch's record itself (Avro's generic JSON rendering does not wrap it in its name).
      expect(m.data.regId).to.equal(regId);
      expect(m).to.deep.equal(original);
    }
    expect(new Set(decoded.map((m) => m.eventId)).size).to.equal(stored.length);
    const types = decoded.map((m) => m.type).sort();
    expect(types).to.deep.equal([...Array(2).fill('PacketValidated'), ...Array(5).fill('EnrollmentSubmitted')].sort());
    const escaped = decoded.find((m) => m.streamId === `enrollment-${ids[0]}` && m.type === 'EnrollmentSubmitted')!;
    expect(escaped.data.operatorId).to.equal('operadora "Conceição" \\ São Tomé\n✓');
    const caused = decoded.filter((m) => m.type === 'PacketValidated');
    for (const m of caused) expect(m.metadata.causationId).to.be.a('string').with.length(36);
  });
});

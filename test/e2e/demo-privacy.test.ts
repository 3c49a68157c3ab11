import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { issueDeviceCertificate, sealPacket } from '@registo/packets';
import { loadPlatformKeys } from '@registo/config';
import { type DemoPacket, intakeKeyOf, runDemo } from '@registo/cli';
import type { EventEnvelope } from '@registo/schemas';
import { type TestDatabase, createTestDatabase } from '../src/index.js';
import { type Haystack, eventHaystack, personalValuesOf, scanForValues, withoutSealed } from '../src/support/personal-data-scan.js';
import { exitOf, startCli } from './cli/run-cli.js';

const DAY_MS = 86_400_000;
const TOKEN = 'privacy-scan-client';

describe('personal-data scanner', () => {
  const person = { givenNames: 'Lucinda', surname: 'Trovoada', dateOfBirth: '1943-06-26', civilRegistryNumber: 'CR-0012345-6', address: { district: 'Lobata', locality: 'Guadalupe', line: 'Rua 7' } };
  const values = personalValuesOf(person);
  const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
  const event = (data: Record<string, unknown>): Haystack =>
    eventHaystack({ position: 1, streamId: 'enrollment-x', type: 'PacketRejected', data, metadata: { correlationId: 'x' } as EventEnvelope['metadata'] });

  it('takes names, date of birth, numbers and address, not the gazetteer', () => {
    expect(values).to.include.members(['Lucinda', 'Trovoada', 'Lucinda Trovoada', '1943-06-26', 'CR-0012345-6', 'Rua 7']);
    expect(values).not.to.include('Guadalupe'); // the seat of Lobata: a public place name
    expect(values).not.to.include('Lobata');
  });

  it('finds a planted value in an unsealed field, in metadata, in a problem body and in a log line', () => {
    const planted: Haystack[] = [
      event({ regId: 'r', reason: 'date of birth 1943-06-26 is after the capture' }),
      eventHaystack({ position: 2, streamId: 'x-1', type: 'T', data: {}, metadata: { actor: { id: 'trovoada' } } as unknown as EventEnvelope['metadata'] }),
      { where: 'problem', text: JSON.stringify({ code: 'X', detail: 'no identity for CR-0012345-6' }) },
      { where: 'log', text: '{"level":30,"msg":"checked LUCINDA TROVOADA"}' },
    ];
    const found = new Set(scanForValues(planted, values).map((f) => f.where));
    expect([...found]).to.have.members(planted.map((p) => p.where));
  });

  it('does not look inside sealed fields, and matches whole words only', () => {
    expect(withoutSealed({ sealed, nested: [{ sealed }] })).to.deep.equal({ sealed: '[sealed]', nested: [{ sealed: '[sealed]' }] });
    expect(scanForValues([event({ sealed: { ...sealed, ciphertext: 'Trovoada' } })], values)).to.deep.equal([]);
    expect(scanForValues([{ where: 'log', text: 'Lucindas and Trovoadas' }], values)).to.deep.equal([]);
  });
});

/**
 * A full demo load (the registration client `registo demo` plays) against `registo start` on
 * PostgreSQL, plus refusals built from the same people; then every event's unsealed fields,
 * every read-model row, every problem body and packet status answered, and every log line of
 * the platform (with its simulators) is searched for the people's values: none may be found.
 */
describe('a demo load leaves no personal data in clear', function () {
  this.timeout(600_000);
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db?.drop());

  it('not in events, read models, problem bodies, packet status or logs', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-demo-privacy-')), 'data');
    const { child, url, output } = await startCli(['start', '--port', '0'], {
      DATABASE_URL: db.url,
      REGISTO_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      REGISTO_SIMULATORS: 'on',
      REGISTO_SIGA_PORT: '0',
      REGISTO_IMMIGRATION_PORT: '0',
      REGISTO_ABIS_PORT: '0',
      REGISTO_API_TOKENS: `${TOKEN}:registration-client-1:registration_client`,
      LOG_LEVEL: 'debug',
    });
    const answers: Haystack[] = [];
    const people: string[] = [];
    const realFetch = globalThis.fetch;
    // Everything the platform answers the registration client: problems and packet status.
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const type = res.headers.get('content-type') ?? '';
      const target = String(input instanceof Request ? input.url : input);
      if (type.startsWith('application/problem+json') || target.includes('/v1/packets/')) answers.push({ where: `${res.status} ${target}`, text: await res.clone().text() });
      return res;
    };
    const packets: DemoPacket[] = [];
    try {
      const keysFile = join(dataDir, 'keys', 'software-keys.json');
      const summary = await runDemo({
        url,
        token: TOKEN,
        keysFile,
        enrollments: 60,
        mix: { foreigners: 0.3, discrepancies: 0.15, duplicates: 0.1, invalid: 0.15 },
        concurrency: 8,
        seed: 11,
        firstPerson: 0,
        timeoutMs: 240_000,
        onGenerated: (p) => packets.push(p),
      });
      expect(summary.outcomes.PENDING, 'every packet reached an outcome').to.equal(0);
      expect(summary.submitted.refused, 'some packets refused at the door').to.be.greaterThan(0);

      // The same people, refused for what they are: born after the capture, a name for a district, ...
      const keys = await loadPlatformKeys(keysFile);
      const device = await issueDeviceCertificate(keys.registrationCa, { deviceId: 'demo-client-02', centreId: '10031', notBefore: new Date(Date.now() - DAY_MS) });
      const intake = await intakeKeyOf(url, keys.intakeKey);
      const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
      const refusals = packets.slice(0, 8).map((p, i) => {
        const content = structuredClone(p.packet) as { regId: string; deviceId: string; capture: { startedAt: string; completedAt: string }; demographics: Record<string, unknown> & { address: Record<string, unknown> } };
        content.regId = `10031-${String(90_000 + i).padStart(5, '0')}-${stamp}`;
        content.deviceId = device.deviceId;
        const d = content.demographics;
        const faults = [
          () => {
            const dayBefore = new Date(Date.parse(`${String(d.dateOfBirth)}T00:00:00Z`) - DAY_MS).toISOString();
            content.capture = { startedAt: dayBefore, completedAt: dayBefore };
          },
          () => (d.address.district = d.surname),
          () => (d.placeOfBirth = d.givenNames),
          () => (d.address.line = `Rua ${String(d.surname)} 12\u0007`),
          () => (d.dateOfBirth = `${String(d.dateOfBirth).slice(0, 4)}-02-30`),
          () => (d.sex = d.givenNames),
          () => (d.dateOfBirth = '2999-01-01'),
          () => (d.nationality = d.surname),
        ];
        faults[i % faults.length]!();
        return content;
      });
      for (const content of refusals) {
        people.push(...personalValuesOf(content.demographics));
        const body = await sealPacket(content, { device, intakePublicKey: intake.publicKey, intakeKid: intake.kid });
        const res = await fetch(`${url}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body });
        expect(res.status, content.regId).to.be.within(400, 499);
        await fetch(`${url}/v1/packets/${content.regId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      }
    } finally {
      globalThis.fetch = realFetch;
      child.kill('SIGTERM');
    }
    expect(await exitOf(child)).to.equal(0);
    for (const p of packets) people.push(...personalValuesOf(p.packet.demographics));

    const driver = new PostgresDriver({ connectionString: db.url });
    const store = await SqlEventStore.open(driver);
    let events: EventEnvelope[];
    const rows: Haystack[] = [];
    try {
      events = await store.readAll();
      // Read models and every other table but the log itself (scanned as events) and the data keys.
      const tables = await driver.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT IN ('registo_events', 'registo_subject_keys')",
      );
      for (const { name } of tables) {
        for (const [i, row] of (await driver.query<Record<string, unknown>>(`SELECT * FROM "${name}"`)).entries()) {
          const readable = Object.fromEntries(Object.entries(row).filter(([, v]) => !(v instanceof Uint8Array)));
          rows.push({ where: `${name} row ${i + 1}`, text: JSON.stringify(withoutSealed(readable)) });
        }
      }
    } finally {
      await store.close();
    }
    const logLines = output().split('\n').filter((l) => l.trim().length > 0).map((text, i) => ({ where: `log line ${i + 1}`, text }));

    // The scan saw what it should have: people, refusals recorded and answered, logs.
    expect(new Set(people).size).to.be.greaterThan(100);
    expect(events.filter((e) => e.type === 'PacketRejected').length, 'refusals recorded').to.be.greaterThan(3);
    expect(events.filter((e) => e.type === 'EnrollmentApproved').length, 'enrollments approved').to.be.greaterThan(10);
    expect(answers.filter((a) => a.text.includes('"code"')).length, 'problem bodies').to.be.greaterThan(5);
    expect(logLines.length).to.be.greaterThan(10);

    expect(rows.length, 'read-model rows').to.be.greaterThan(50);
    const findings = scanForValues([...events.map(eventHaystack), ...rows, ...answers, ...logLines], people);
    expect(findings, JSON.stringify(findings.slice(0, 10), null, 1)).to.deep.equal([]);
  });
});

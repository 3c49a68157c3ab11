import { expect } from 'chai';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { categoryTopic } from '@registo/messaging';
import { createTestDatabase, sql, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { platformTestEnv } from '../../src/support/platform-env.js';
import { exitOf, runCli, startCli } from './run-cli.js';

const headOf = async (url: string): Promise<number> =>
  ((await (await fetch(`${url}/readyz`)).json()) as { checks: { eventStore: { headPosition: number } } }).checks.eventStore.headPosition;

/** A short demo load, so that the store, read models, topics and groups hold something. */
const demo = (url: string, env: NodeJS.ProcessEnv) =>
  runCli(['demo', '--enrollments', '3', '--url', url, '--foreigners', '0', '--duplicates', '0', '--discrepancies', '0', '--invalid', '0', '--wait', '120'], env);

/**
 * `registo reset` starts a platform over: it says what it would delete and deletes nothing
 * without --yes, refuses while the platform runs, and afterwards `registo start` begins empty;
 * on PostgreSQL + Kafka only the topic prefix's topics, groups and subjects go.
 */
describe('registo reset', function () {
  this.timeout(300_000);

  it('embedded: lists the data dir without --yes, refuses while the platform runs, removes it; the next start is empty', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-reset-')), 'data');
    const env = { REGISTO_DATA_DIR: dataDir, HOST: '127.0.0.1', REGISTO_SIGA_PORT: '0', REGISTO_IMMIGRATION_PORT: '0', REGISTO_ABIS_PORT: '0' };
    const first = await startCli(['start', '--port', '0'], env);
    let emptyHead: number;
    let fullHead: number;
    try {
      emptyHead = await headOf(first.url);
      const d = await demo(first.url, env);
      expect(d.code, d.stdout + d.stderr).to.equal(0);
      fullHead = await headOf(first.url);
      expect(fullHead).to.be.greaterThan(emptyHead);
      const running = await runCli(['reset', '--yes'], env);
      expect(running.code).to.not.equal(0);
      expect(running.stderr).to.include('in use by another registo process').and.include(`pid ${first.child.pid}`);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await exitOf(first.child)).to.equal(0);

    const asked = await runCli(['reset'], env);
    expect(asked.code).to.equal(1);
    expect(asked.stderr).to.include('would delete').and.include(dataDir).and.include('pass --yes');
    expect(existsSync(join(dataDir, 'keys', 'software-keys.json')), 'nothing deleted without --yes').to.equal(true);

    const done = await runCli(['reset', '--yes'], env);
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.include('deleted').and.include(dataDir);
    expect(existsSync(dataDir)).to.equal(false);

    const again = await startCli(['start', '--port', '0'], env);
    try {
      expect(await headOf(again.url)).to.equal(emptyHead);
    } finally {
      again.child.kill('SIGTERM');
    }
    expect(await exitOf(again.child)).to.equal(0);
  });

  describe('on PostgreSQL + Kafka', () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase('registo_reset');
    });
    after(() => db?.drop());

    it("drops the schema and the prefix's topics, consumer groups and registry subjects; another prefix's are untouched", async () => {
      const settings = testKafkaSettings('rs');
      // Another platform's prefix whose names begin like this one's: `<prefix>-b`.
      const other = `${settings.prefix}-b`;
      const otherTopic = categoryTopic('enrollment', other);
      const otherGroup = `${other}-projector`;
      const otherSubject = `${otherTopic}-value`;
      const kafka = new Kafka({ clientId: 'registo-reset-test', brokers: settings.brokers, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      const registry = settings.registryUrl;
      try {
        await admin.createTopics({ topics: [{ topic: otherTopic, numPartitions: 1 }], waitForLeaders: true });
        await admin.setOffsets({ groupId: otherGroup, topic: otherTopic, partitions: [{ partition: 0, offset: '0' }] });
        const registered = await fetch(`${registry}/subjects/${otherSubject}/versions`, { method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: '"string"' }) });
        expect(registered.ok, await registered.text()).to.equal(true);

        const env = platformTestEnv({
          databaseUrl: db.url,
          tokens: 'reset-client:registration-client-1:registration_client',
          label: 'reset',
          extra: { KAFKA_BROKERS: settings.brokers.join(','), SCHEMA_REGISTRY_URL: registry, REGISTO_TOPIC_PREFIX: settings.prefix, LOG_LEVEL: 'warn' },
        });
        const platform = await startCli(['start', '--port', '0'], env);
        try {
          const d = await runCli(['demo', '--enrollments', '3', '--url', platform.url, '--token', 'reset-client', '--foreigners', '0', '--duplicates', '0', '--discrepancies', '0', '--invalid', '0', '--wait', '120'], env);
          expect(d.code, d.stdout + d.stderr).to.equal(0);
          const running = await runCli(['reset', '--yes'], env);
          expect(running.code).to.not.equal(0);
          expect(running.stderr).to.include('other session(s)');
        } finally {
          platform.child.kill('SIGTERM');
        }
        expect(await exitOf(platform.child)).to.equal(0);

        const ours = (names: string[], sep: string) => names.filter((n) => n.startsWith(`${settings.prefix}${sep}`) && !n.startsWith(`${other}`));
        const groupsNow = async () => (await admin.listGroups()).groups.map((g) => g.groupId);
        const subjectsNow = async () => (await (await fetch(`${registry}/subjects?deleted=true`)).json()) as string[];
        expect(ours(await admin.listTopics(), '.')).to.include(categoryTopic('enrollment', settings.prefix));
        expect(ours(await groupsNow(), '-')).to.include(`${settings.prefix}-mirror`);
        expect(ours(await subjectsNow(), '.')).to.include(`${categoryTopic('enrollment', settings.prefix)}-value`);

        const asked = await runCli(['reset'], env);
        expect(asked.code).to.equal(1);
        expect(asked.stderr).to.include('registo_events').and.include(categoryTopic('enrollment', settings.prefix)).and.include(`${settings.prefix}-mirror`);
        expect(asked.stderr).to.not.include(otherTopic).and.not.include(otherGroup);

        const done = await runCli(['reset', '--yes'], env);
        expect(done.code, done.stderr).to.equal(0);
        expect(done.stdout).to.include(categoryTopic('enrollment', settings.prefix));
        expect(ours(await admin.listTopics(), '.')).to.deep.equal([]);
        expect(ours(await groupsNow(), '-')).to.deep.equal([]);
        expect(ours(await subjectsNow(), '.')).to.deep.equal([]);
        const tables = await sql(db.url, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
        expect(tables.rows[0]).to.deep.equal({ n: 0 });
        // Another prefix's topic, group and subject are where they were.
        expect(await admin.listTopics()).to.include(otherTopic);
        expect(await groupsNow()).to.include(otherGroup);
        expect(await subjectsNow()).to.include(otherSubject);

        // The platform starts again on the empty database, with the same keys.
        const again = await startCli(['start', '--port', '0'], env);
        try {
          // Ready means every worker runs again: the mirror has recreated its topics on the empty cluster.
          const deadline = Date.now() + 60_000;
          while ((await fetch(`${again.url}/readyz`)).status !== 200) {
            if (Date.now() > deadline) throw new Error(`not ready again after the reset:\n${again.output().slice(-3000)}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        } finally {
          again.child.kill('SIGTERM');
        }
        expect(await exitOf(again.child), again.output().slice(-3000)).to.equal(0);
      } finally {
        await admin.deleteGroups([otherGroup]).catch(() => undefined);
        await admin.deleteTopics({ topics: [otherTopic] }).catch(() => undefined);
        await fetch(`${registry}/subjects/${otherSubject}`, { method: 'DELETE' });
        await fetch(`${registry}/subjects/${otherSubject}?permanent=true`, { method: 'DELETE' });
        await admin.disconnect();
      }
    });
  });
});

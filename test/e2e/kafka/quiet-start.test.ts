import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfra } from '@registo/deploy';
import { createTestDatabase, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { exitOf, startCli } from '../cli/run-cli.js';
import { waitFor } from './processes.js';

interface LogLine { level: number; msg: string; raw: string }

function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{"level":')) return [];
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && 'level' in parsed && 'msg' in parsed && typeof parsed.level === 'number' && typeof parsed.msg === 'string'
      ? [{ level: parsed.level, msg: parsed.msg, raw: line.slice(0, 1500) }]
      : [];
  });
}

/** The README's PostgreSQL + Kafka recipe on a new database and new topics: a healthy start says nothing alarming. */
describe('a healthy start on PostgreSQL + Kafka', function () {
  this.timeout(180_000);
  let db: TestDatabase;

  before(async () => {
    await ensureInfra();
    db = await createTestDatabase();
  });
  after(() => db?.drop());

  it('logs no error and none of the Kafka client\'s retry chatter or advice, first start and restart alike', async () => {
    const settings = testKafkaSettings('quiet');
    const env = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: settings.brokers.join(','),
      SCHEMA_REGISTRY_URL: settings.registryUrl,
      REGISTO_TOPIC_PREFIX: settings.prefix,
      REGISTO_SIMULATORS: 'on',
      REGISTO_SIGA_PORT: '0',
      REGISTO_IMMIGRATION_PORT: '0',
      REGISTO_ABIS_PORT: '0',
      HOST: '127.0.0.1',
      REGISTO_DATA_DIR: mkdtempSync(join(tmpdir(), 'registo-quiet-')),
    };
    for (const start of ['first start', 'restart']) {
      const { child, url, output } = await startCli(['start', '--port', '0'], env);
      try {
        // Every worker up, the topics created moments ago served: the window the chatter came from.
        await waitFor('every worker running', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
        await new Promise((r) => setTimeout(r, 3000));
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exitOf(child), start).to.equal(0);
      const lines = logLines(output());
      expect(lines.length, `${start}: the log`).to.be.greaterThan(5);
      expect(lines.filter((l) => l.level >= 50).map((l) => l.raw), `${start}: errors`).to.deep.equal([]);
      expect(lines.filter((l) => l.level >= 40 && l.msg.startsWith('kafkajs:')).map((l) => l.msg), `${start}: Kafka client warnings`).to.deep.equal([]);
    }
  });
});

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { lockDataDir, resetPostgresDatabase } from '@registo/event-store';
import { type PrefixResources, findPrefixResources, purgePrefix } from '@registo/messaging';
import { loadConfig } from '@registo/config';
import { nextPersonFile } from '../demo/next-person.js';

const list = (names: string[]): string => (names.length === 0 ? 'none' : names.join(', '));

function kafkaLines(prefix: string, r: PrefixResources): string[] {
  return [
    `Kafka topics of prefix ${prefix}: ${list(r.topics)}`,
    `Kafka consumer groups of prefix ${prefix}: ${list(r.groups)}`,
    `schema registry subjects of prefix ${prefix}: ${list(r.subjects)}`,
  ];
}

/**
 * `registo reset`: everything one platform keeps, so that the next `registo start` begins empty.
 * It asks for --yes and otherwise only says what it would delete; it refuses while the platform
 * runs (the data dir lock embedded, other sessions on PostgreSQL), so it never pulls a store
 * from under a running process.
 */
export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('start over: delete the embedded data dir, or the PostgreSQL schema and the Kafka topics, consumer groups and registry subjects of the topic prefix')
    .option('--yes', 'really delete (without it, only say what would be deleted)')
    .option('--data-dir <dir>', 'embedded data directory (env REGISTO_DATA_DIR, default ./data)')
    .addHelpText(
      'after',
      `
Uses the same environment as \`registo start\` (DATABASE_URL, REGISTO_DATA_DIR, KAFKA_BROKERS,
SCHEMA_REGISTRY_URL, REGISTO_TOPIC_PREFIX). Stop the platform first.

Embedded (no DATABASE_URL): removes the data directory — event store, read models, keys, the
trust hierarchy and the demo's next-person file. Refused while a platform holds it
(DATA_DIR_LOCKED).
PostgreSQL: drops the database's public schema (event log, read models, claims, subject keys,
audit tree) and makes it again; the database, its owner and URL stay. Refused while other
sessions use the database (DATABASE_IN_USE). The key file and trust hierarchy under the data
dir are kept (a new platform on the empty database uses them again); the demo's next-person
file is removed.
With KAFKA_BROKERS: the topics <prefix>.*, the consumer groups <prefix>-* whose offsets are on
those topics (or that have none), and the registry subjects <prefix>.* (soft, then permanent
delete). Other prefixes are left alone. Transactional ids expire on the broker by themselves.

Without --yes it lists what it would delete and exits 1.`,
    )
    .action(async (o: { yes?: boolean; dataDir?: string }) => {
      const env = { ...process.env, ...(o.dataDir && { REGISTO_DATA_DIR: o.dataDir }) };
      const config = loadConfig(env);
      if (config.eventStore.kind === 'eventstoredb') throw new Error('reset knows the embedded and PostgreSQL stores; an EventStoreDB node is reset with its own tools');
      const lines: string[] = [];
      const apply: Array<() => Promise<void>> = [];

      if (config.eventStore.kind === 'pglite') {
        const dir = config.dataDir;
        if (existsSync(dir)) {
          // Taking the lock is the check that no platform runs on it (DATA_DIR_LOCKED otherwise).
          const lock = await lockDataDir(dir);
          await lock.release();
          lines.push(`data directory ${dir} (event store, read models, keys, trust hierarchy, demo state)`);
          apply.push(async () => {
            const held = await lockDataDir(dir);
            try {
              await rm(dir, { recursive: true, force: true });
            } finally {
              await held.release();
            }
          });
        } else lines.push(`data directory ${dir}: does not exist`);
      } else {
        const url = config.eventStore.url;
        const plan = await resetPostgresDatabase(url, { dryRun: true });
        lines.push(`PostgreSQL database ${plan.database}: the public schema and its ${plan.dropped.length} tables, views and sequences (${list(plan.dropped)})`);
        apply.push(async () => void (await resetPostgresDatabase(url)));
        const cursor = nextPersonFile(config.dataDir);
        if (existsSync(cursor)) {
          lines.push(`the demo's next-person file ${cursor}`);
          apply.push(() => rm(cursor, { force: true }));
        }
      }

      if (config.kafka) {
        const kafka = config.kafka;
        const found = await findPrefixResources(kafka);
        lines.push(...kafkaLines(kafka.prefix, found));
        apply.push(() => purgePrefix(kafka, found));
      }

      if (!o.yes) {
        process.stderr.write(`registo reset: would delete\n${lines.map((l) => `  ${l}\n`).join('')}nothing deleted: pass --yes to delete it\n`);
        process.exitCode = 1;
        return;
      }
      // The database first: once the platform cannot start on it, half a reset is still a reset.
      for (const step of apply) await step();
      process.stdout.write(`deleted\n${lines.map((l) => `  ${l}\n`).join('')}`);
    });
}

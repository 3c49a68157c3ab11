import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { kafkaSettings } from '@registo/messaging';
import { ADMIN_URL, commandsOf, onPort, readTopics, shellBlocks, sql } from '../../src/index.js';
import { DocumentedPlatform, README, newcomerCheckout, onDatabase, readerEnv, shell, tryCommand } from '../../src/support/readme-platform.js';

interface Ready {
  checks: { eventStore: { adapter: string; headPosition: number } };
  workers: Record<string, { position?: number; running?: boolean } | undefined>;
}

async function readyz(port: string | undefined): Promise<Ready> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(r.status, '/readyz').to.equal(200);
  return (await r.json()) as Ready;
}

/**
 * README's "Running on PostgreSQL" and then "With Kafka", one after the other as a reader follows
 * them, in a checkout of its own. Only what must not collide with others on this machine changes:
 * the ports (`onPort`, the port variables), the database name (`onDatabase`: a fresh name for
 * the documented `registo`) and, for Kafka, the topic prefix: the recipe has no prefix variable,
 * so REGISTO_TOPIC_PREFIX is set like a port variable, in the environment of the whole section.
 */
describe('README: the PostgreSQL and Kafka recipes, as written, on a database, ports and topic prefix of their own', function () {
  this.timeout(900_000);
  const database = `registo_readme_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let platform: DocumentedPlatform | undefined;
  const as = (documented: string): string => onDatabase(onPort(documented, Number(env.PORT)), database);

  before(async () => {
    dir = newcomerCheckout();
    env = await readerEnv();
  });
  after(async () => {
    platform?.kill();
    await sql(ADMIN_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('"Running on PostgreSQL": createdb, npm start on it, and every "Try it" command works against it', async () => {
    const [createdb, start, ...rest] = commandsOf(shellBlocks(README, 'Running on PostgreSQL')[0]!);
    expect(rest, 'the recipe is two commands').to.deep.equal([]);
    expect(createdb).to.match(/^createdb /);
    expect(as(createdb!), 'the database name is substituted').to.include(database);
    const made = await shell(as(createdb!), dir, env);
    expect(made.code, made.stderr).to.equal(0);

    expect(start).to.match(/^DATABASE_URL=\S+ npm start$/);
    expect(as(start!)).to.include(`/${database} `);
    platform = new DocumentedPlatform(dir, env);
    await platform.start(as(start!));
    expect((await readyz(env.PORT)).checks.eventStore.adapter).to.match(/postgres/i);

    const tryIt = commandsOf(shellBlocks(README, 'Try it')[0]!);
    expect(tryIt.length, 'commands in "Try it"').to.be.greaterThan(5);
    for (const documented of tryIt) await tryCommand(documented, as(documented), dir, env);

    await platform.stop();
  });

  it('"With Kafka": infra up beside the Kafka and registry already running, npm start on Kafka, the demo, every event mirrored once', async () => {
    const [infraUp, start, ...rest] = commandsOf(shellBlocks(README, 'With Kafka')[0]!);
    expect(rest, 'the recipe is two commands').to.deep.equal([]);
    const prefix = `readme${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const kafkaEnv = { ...env, REGISTO_TOPIC_PREFIX: prefix };

    // The suite's broker and registry already answer on the documented ports: the command must
    // use them, not refuse, and leave them running.
    const up = await shell(as(infraUp!), dir, kafkaEnv);
    expect(up.code, `${infraUp}\n${up.stdout}\n${up.stderr}`).to.equal(0);
    expect(up.stdout + up.stderr).to.match(/already answer|running/);

    expect(start).to.match(/^DATABASE_URL=\S+ KAFKA_BROKERS=\S+ npm start$/);
    platform = new DocumentedPlatform(dir, kafkaEnv);
    await platform.start(as(start!));
    const before = await readyz(env.PORT);
    expect(before.workers.mirror, 'the mirror runs').to.not.equal(undefined);

    const demo = commandsOf(shellBlocks(README, 'Try it')[0]!).find((c) => c.startsWith('npx registo demo '));
    await tryCommand(demo!, as(demo!), dir, kafkaEnv);

    // Everything in the store, the first recipe's events too, reaches the topics exactly once.
    let ready = await readyz(env.PORT);
    for (let i = 0; i < 600 && ready.workers.mirror!.position! < ready.checks.eventStore.headPosition; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await readyz(env.PORT);
    }
    const head = ready.checks.eventStore.headPosition;
    expect(ready.workers.mirror!.position, 'mirrored up to the head').to.be.at.least(head);
    const messages = await readTopics({ ...kafkaSettings(kafkaEnv), prefix }, head, { timeoutMs: 120_000 });
    const positions = new Set(messages.map((m) => m.event.position));
    expect(messages.length, 'one message per event up to the head').to.be.at.least(head);
    expect(positions.size, 'no event twice').to.equal(messages.length);
    for (let p = 1; p <= head; p++) expect(positions.has(p), `position ${p} on a topic`).to.equal(true);

    await platform.stop();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureInfra } from '@registo/deploy';
import { type EventStore, openEventStore } from '@registo/event-store';
import type { KafkaSettings } from '@registo/messaging';
import { createTestDatabase, type TestDatabase } from '../../src/index.js';

const CLI = fileURLToPath(new URL('../../../../cli/bin/registo.js', import.meta.url));

/** Environment for a `registo start` child process on a test database and test topics. */
export function roleEnv(databaseUrl: string, settings: KafkaSettings, roles: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: settings.brokers.join(','),
    SCHEMA_REGISTRY_URL: settings.registryUrl,
    REGISTO_TOPIC_PREFIX: settings.prefix,
    REGISTO_TOPIC_PARTITIONS: String(settings.partitions),
    REGISTO_ROLES: roles,
    LOG_LEVEL: 'warn',
    PORT: '0',
    HOST: '127.0.0.1',
    // Several role processes on one machine: none starts the simulators on their fixed ports.
    REGISTO_SIMULATORS: 'off',
    // Keys and the trust hierarchy of this role's incarnations, not the working directory's.
    REGISTO_DATA_DIR: mkdtempSync(join(tmpdir(), 'registo-role-')),
  };
}

export interface RoleProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `registo start` as a separate process (so it can be SIGKILLed like a crashed pod). */
export function startRole(env: NodeJS.ProcessEnv): RoleProcess {
  const child = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Kills `count` incarnations of a role, restarting it each time; returns the survivor. Each is
 * killed at a random moment once it has made progress of its own, so no kill lands on a process
 * still starting. `progress` reads how far the role's work has got (a committed position, events
 * projected); the reading after each kill is returned, for the test to check the kills landed
 * before the work was done. `onKill` hears the number of kills so far (a writer can release
 * the log in stages, so every incarnation has work of its own).
 */
export async function crashRepeatedly(
  env: NodeJS.ProcessEnv,
  count: number,
  minMs: number,
  maxMs: number,
  progress: () => Promise<number>,
  onKill: (kills: number) => void = () => undefined,
): Promise<{ survivor: RoleProcess; progressAtKills: number[] }> {
  let current = startRole(env);
  const progressAtKills: number[] = [];
  // Nothing to read before the first incarnation made its topics or tables: no progress yet.
  let reached = await progress().catch(() => 0);
  for (let i = 0; i < count; i++) {
    const before = reached;
    const incarnation = current;
    await waitFor(`incarnation ${i + 1} to get past ${before}`, async () => (await progress()) > before, 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${incarnation.output().slice(-3000)}`);
    });
    await sleep(minMs + Math.random() * (maxMs - minMs));
    current.child.kill('SIGKILL');
    await current.exited;
    await waitFor('a progress reading after the kill', async () => ((reached = await progress()), true), 60_000);
    progressAtKills.push(reached);
    onKill(i + 1);
    current = startRole(env);
  }
  return { survivor: current, progressAtKills };
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    // A broker still electing a partition leader answers with a retriable error: ask again.
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/**
 * For a suite on Kafka and one PostgreSQL store: the broker up, a throw-away database and the
 * store on it before the tests (handed to `use`), both closed and dropped after.
 */
export function withKafkaAndStore(use: (suite: { db: TestDatabase; store: EventStore }) => void): void {
  let db: TestDatabase | undefined;
  let store: EventStore | undefined;
  before(async () => {
    await ensureInfra();
    db = await createTestDatabase();
    store = await openEventStore({ kind: 'postgres', url: db.url });
    use({ db, store });
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIMULATED_LOOPBACK_ENV } from '@registo/cli';
import type { SqlDriver } from '@registo/event-store';
import { sql } from './postgres.js';

/**
 * The environment of a whole platform on PostgreSQL for a test: the simulators in-process on
 * free ports, the API on a free loopback port, a data dir and key file of its own. `extra`
 * adds or overrides variables (Kafka, roles, …).
 */
export function platformTestEnv(o: { databaseUrl: string; tokens: string; label: string; extra?: NodeJS.ProcessEnv; inherited?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    ...(o.inherited ?? process.env),
    ...SIMULATED_LOOPBACK_ENV,
    DATABASE_URL: o.databaseUrl,
    REGISTO_DATA_DIR: mkdtempSync(join(tmpdir(), `registo-${o.label}-data-`)),
    REGISTO_KEYS_FILE: join(mkdtempSync(join(tmpdir(), `registo-${o.label}-keys-`)), 'keys.json'),
    REGISTO_API_TOKENS: o.tokens,
    ...o.extra,
  };
}

/**
 * `registo start` (or `keys init`) on the embedded store in `dataDir`: on loopback, the simulated
 * systems on free ports. Callers add the API port, tokens and whatever else their case needs.
 */
export function embeddedStartEnv(dataDir: string): NodeJS.ProcessEnv {
  return { REGISTO_DATA_DIR: dataDir, HOST: '127.0.0.1', REGISTO_SIGA_PORT: '0', REGISTO_IMMIGRATION_PORT: '0', REGISTO_ABIS_PORT: '0' };
}

/** A read model's table and the key its rows are ordered by. */
export type ReadModelTable = readonly [table: string, key: string];

/** The enrollment-side read models. */
export const ENROLLMENT_READ_MODELS: readonly ReadModelTable[] = [
  ['enrollment_status', 'reg_id'],
  ['identity_registry', 'uin'],
  ['adjudication_queue', 'adjudication_id'],
];

/**
 * Every row of the read models (default: the enrollment side), in a stable order: to compare a
 * live database with a replay. `source`: a PostgreSQL URL or a driver (both sides read alike).
 */
export async function readModelRows(source: string | SqlDriver, tables: readonly ReadModelTable[] = ENROLLMENT_READ_MODELS): Promise<Record<string, unknown[]>> {
  const rows = async (text: string): Promise<unknown[]> => (typeof source === 'string' ? (await sql(source, text)).rows : source.query(text));
  const out: Record<string, unknown[]> = {};
  for (const [name, key] of tables) out[name] = await rows(`SELECT * FROM ${name} ORDER BY ${key}`);
  return out;
}

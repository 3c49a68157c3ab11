import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from './postgres.js';

/**
 * The environment of a whole platform on PostgreSQL for a test: the simulators in-process on
 * free ports, the API on a free loopback port, a data dir and key file of its own. `extra`
 * adds or overrides variables (Kafka, roles, …).
 */
export function platformTestEnv(o: { databaseUrl: string; tokens: string; label: string; extra?: NodeJS.ProcessEnv; inherited?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    ...(o.inherited ?? process.env),
    DATABASE_URL: o.databaseUrl,
    REGISTO_SIMULATORS: 'on',
    REGISTO_SIGA_PORT: '0',
    REGISTO_IMMIGRATION_PORT: '0',
    REGISTO_ABIS_PORT: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    REGISTO_DATA_DIR: mkdtempSync(join(tmpdir(), `registo-${o.label}-data-`)),
    REGISTO_KEYS_FILE: join(mkdtempSync(join(tmpdir(), `registo-${o.label}-keys-`)), 'keys.json'),
    REGISTO_API_TOKENS: o.tokens,
    ...o.extra,
  };
}

/** Every row of the enrollment-side read models, in a stable order: to compare a live database with a replay. */
export async function readModelRows(url: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [name, key] of [['enrollment_status', 'reg_id'], ['identity_registry', 'uin'], ['adjudication_queue', 'adjudication_id']] as const) {
    out[name] = (await sql(url, `SELECT * FROM ${name} ORDER BY ${key}`)).rows;
  }
  return out;
}

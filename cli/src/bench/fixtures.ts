import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { enrollmentSubmitted, sealedSample } from '@registo/fixtures';
import type { NewEvent } from '@registo/schemas';

/** A realistic EnrollmentSubmitted (~900 bytes, most of it sealed personal data) for benchmarks. */
export function benchEvent(regId: string): NewEvent {
  return enrollmentSubmitted(regId, { sealed: sealedSample(regId, 320) });
}

/** Runs `fn` against a throw-away database created on the server at `adminUrl`, dropped afterwards. */
export async function withBenchDatabase<T>(adminUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `registo_bench_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

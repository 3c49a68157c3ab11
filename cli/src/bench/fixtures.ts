import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { NewEvent } from '@registo/schemas';

/** A realistic EnrollmentSubmitted (~900 bytes, most of it sealed personal data) for benchmarks. */
export function benchEvent(regId: string): NewEvent {
  return {
    type: 'EnrollmentSubmitted',
    data: {
      regId,
      packetType: 'NEW',
      residency: 'CITIZEN',
      centreId: 'STP-AGUA-GRANDE-01',
      operatorId: 'op-7',
      deviceId: 'dev-12',
      capturedAt: '2026-11-20T10:00:00.000Z',
      packetHash: randomBytes(32).toString('hex'),
      sealed: { subjectId: regId, keyVersion: 1, alg: 'A256GCM', iv: randomBytes(12).toString('base64url'), ciphertext: randomBytes(320).toString('base64url') },
    },
  };
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

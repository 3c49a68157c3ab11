import { randomBytes } from 'node:crypto';
import type { NewEvent } from '@registo/schemas';

export function sealedSample(subjectId = 'subject-1'): Record<string, unknown> {
  return {
    subjectId,
    keyVersion: 1,
    alg: 'A256GCM',
    iv: randomBytes(12).toString('base64url'),
    ciphertext: randomBytes(48).toString('base64url'),
  };
}

/** A valid EnrollmentSubmitted, the most common event in the contract suites. */
export function enrollmentSubmitted(regId: string, overrides: Record<string, unknown> = {}): NewEvent {
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
      sealed: sealedSample(regId),
      ...overrides,
    },
  };
}

export function packetValidated(regId: string): NewEvent {
  return { type: 'PacketValidated', data: { regId, checks: ['signature', 'schema'] } };
}

export function randomId(): string {
  return randomBytes(8).toString('hex');
}

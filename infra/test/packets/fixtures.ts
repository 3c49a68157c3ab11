import type { DeviceCredentials, EnrollmentPacket, IntakeKey, PacketTrust, RegistrationAuthority } from '../../src/index.js';

// The packet fixtures live in the test workspace (@registo/test), which itself depends on infra.
// Loading them by name at run time keeps the build graph acyclic; their shapes are restated here.

export interface PacketTestEnv {
  now: Date;
  ca: RegistrationAuthority;
  otherCa: RegistrationAuthority;
  device: DeviceCredentials;
  otherDevice: DeviceCredentials;
  otherCentreDevice: DeviceCredentials;
  intake: IntakeKey;
  otherIntake: IntakeKey;
  trust: PacketTrust;
  seal(content: unknown, signer?: DeviceCredentials): Promise<string>;
}

interface HostileCase {
  name: string;
  body: string | Buffer;
  expectedCode: string;
  authenticated: boolean;
  regId?: string;
  packetHash?: string;
}

export interface PacketFixtures {
  createPacketTestEnv(): Promise<PacketTestEnv>;
  buildHostileCorpus(env: PacketTestEnv): Promise<HostileCase[]>;
  validPacket(overrides?: Record<string, unknown>, now?: Date): EnrollmentPacket;
  validForeignerPacket(now?: Date): EnrollmentPacket;
  replayedWithOtherContent(packet: EnrollmentPacket): EnrollmentPacket;
  mutated(packet: EnrollmentPacket, change: (p: any) => void): unknown;
}

const TEST_WORKSPACE = '@registo/test';

export async function loadPacketFixtures(): Promise<PacketFixtures> {
  return (await import(TEST_WORKSPACE)) as PacketFixtures;
}

/** Resolves to the RegistoError `p` rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

import * as fixtures from '@registo/fixtures';
import { PACKET_CODEC_KIT as kit } from '../src/index.js';

// The packet fixtures live in @registo/fixtures, below infra; they are bound here to this
// workspace's own source, so the tests open packets built with the code under test.

export const createPacketTestEnv = () => fixtures.createPacketTestEnv(kit);
export type PacketTestEnv = Awaited<ReturnType<typeof createPacketTestEnv>>;
export const buildHostileCorpus = (env: PacketTestEnv) => fixtures.buildHostileCorpus(kit, env);
export const validPacket = fixtures.samplePacket;
export const validForeignerPacket = fixtures.sampleForeignerPacket;
export const { replayedWithOtherContent, mutated } = fixtures;

/** Resolves to the RegistoError `p` rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

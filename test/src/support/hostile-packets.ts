import * as fixtures from '@registo/fixtures';
import { packetContentIssues } from '@registo/producers';
import {
  PACKET_CODEC_KIT as kit,
  type DeviceCredentials,
  type EnrollmentPacket,
  type IntakeKey,
  type PacketTrust,
  type RegistrationAuthority,
} from '@registo/packets';

// The packet fixtures live in @registo/fixtures (below infra, so infra's own tests share them);
// here they are bound to the platform's packet codec and typed as the packets it opens.

export { TEST_CENTRE_ID, TEST_DEVICE_ID, nextRegId } from '@registo/fixtures';

/** Everything a packet test needs: the trusted CA, devices good and bad, intake keys. */
export type PacketTestEnv = Omit<fixtures.PacketTestEnv<RegistrationAuthority, DeviceCredentials, IntakeKey>, 'trust'> & { trust: PacketTrust };
export async function createPacketTestEnv(): Promise<PacketTestEnv> {
  const env = await fixtures.createPacketTestEnv(kit);
  // The register's packet rules, as intake runs them: the corpus covers them too.
  return { ...env, trust: { ...env.trust, contentRules: packetContentIssues } };
}

/** At least 45 packets the intake must refuse, each with the code it must refuse them with. */
export const buildHostileCorpus = (env: PacketTestEnv) => fixtures.buildHostileCorpus(kit, env);

/** A NEW packet for a citizen, captured minutes before `now` by TEST_DEVICE_ID; nested overrides merge. */
export const validPacket = (overrides: fixtures.DeepPartial<EnrollmentPacket> = {}, now = new Date()): EnrollmentPacket =>
  fixtures.samplePacket(overrides, now) as EnrollmentPacket;

/** Same regId, different content: intake must refuse it against the store with PACKET_ID_REUSED. */
export const replayedWithOtherContent = (packet: EnrollmentPacket): EnrollmentPacket => fixtures.replayedWithOtherContent(packet);

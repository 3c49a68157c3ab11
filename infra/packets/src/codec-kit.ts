import { createRegistrationAuthority, generateIntakeKey, issueDeviceCertificate } from './authority.js';
import { DEFAULT_MAX_PACKET_BYTES, encryptForIntake, packetHashOf, sealPacket, signPacketPayload } from './codec.js';
import { REG_ID_PATTERN } from './content.js';

/**
 * The packet codec in one object, in the shape `@registo/fixtures` builds packets with: the
 * packet tests (this workspace's and the platform's) build their packets with the same code
 * intake opens them with.
 */
export const PACKET_CODEC_KIT = {
  REG_ID_PATTERN,
  DEFAULT_MAX_PACKET_BYTES,
  createRegistrationAuthority,
  issueDeviceCertificate,
  generateIntakeKey,
  sealPacket,
  encryptForIntake,
  signPacketPayload,
  packetHashOf,
};

import { centreOfRegId } from '@registo/packets';
import { reject } from '../decider.js';

/** The registration client that signed a packet, as its verified certificate names it (CN, OU). */
export interface SigningDevice {
  deviceId: string;
  centreId: string;
}

/** The name `requireOwnCentre` is recorded under among a packet's checks (PacketValidated). */
export const OWN_CENTRE_CHECK = 'signer-centre';

/**
 * A device speaks only for its own centre: the registration id it files under and the centre
 * the packet names must both be the certificate's. Checked before anything else about the
 * packet, so a device of another centre learns nothing about that centre's ids (not even
 * that one is taken) and cannot occupy one with a refusal.
 */
export function requireOwnCentre(device: SigningDevice, regId: string, claimedCentreId: string | null): void {
  if (centreOfRegId(regId) !== device.centreId) {
    reject('PACKET_CENTRE_MISMATCH', "the registration id's centre is not the signer's centre", {
      field: 'regId',
      signerCentreId: device.centreId,
    });
  }
  if (claimedCentreId !== null && claimedCentreId !== device.centreId) {
    reject('PACKET_CENTRE_MISMATCH', "the packet's centreId is not the signer's centre", { field: 'centreId', signerCentreId: device.centreId });
  }
}

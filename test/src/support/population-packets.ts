import { createHash } from 'node:crypto';
import type { EnrollmentPacket } from '@registo/packets';
import { type Citizen, type Foreigner, type Population, syntheticTemplate } from '@registo/simulators';
import { citizenDemographics, foreignerDemographics } from '@registo/cli';
import { TEST_CENTRE_ID, TEST_DEVICE_ID, nextRegId } from './hostile-packets.js';

/**
 * Packets for people of the simulators' synthetic population, as a registration client at
 * TEST_CENTRE_ID / TEST_DEVICE_ID would capture them: SIGA and Immigration know these people,
 * the ABIS sees a fresh capture of their fingers and face.
 */

export interface PopulationPacketOptions {
  regId?: string;
  packetType?: EnrollmentPacket['packetType'];
  /** The identity an UPDATE (LOST, CORRECTION) packet is about. */
  uin?: string;
  /** Whose fingers and face were captured (default: the person's own): an impostor gives someone else's. */
  biometricsOf?: string;
  /** Seeds the capture noise; two packets of one person should differ (default: a counter). */
  captureSeed?: number;
  /** Replaces the address (e.g. a person who moved). */
  address?: EnrollmentPacket['demographics']['address'];
  now?: Date;
}

const BIOMETRIC_POSITIONS = [
  ['FINGER', 'RIGHT_THUMB'],
  ['FINGER', 'LEFT_THUMB'],
  ['FACE', 'FACE'],
] as const;

let captures = 0;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function base(personKey: string, demographics: EnrollmentPacket['demographics'], documentType: 'BIRTH_CERTIFICATE' | 'RESIDENCE_PERMIT', o: PopulationPacketOptions): EnrollmentPacket {
  const now = o.now ?? new Date();
  const captureSeed = o.captureSeed ?? ++captures;
  const packetType = o.packetType ?? 'NEW';
  return {
    regId: o.regId ?? nextRegId(now),
    packetType,
    ...(o.uin !== undefined && { uin: o.uin }),
    centreId: TEST_CENTRE_ID,
    operatorId: 'op-0007',
    deviceId: TEST_DEVICE_ID,
    capture: { startedAt: new Date(now.getTime() - 9 * 60_000).toISOString(), completedAt: new Date(now.getTime() - 60_000).toISOString() },
    demographics: o.address ? { ...demographics, address: o.address } : demographics,
    documents: [{ type: documentType, reference: `${documentType}/${personKey}`, sha256: sha256(`${documentType}:${personKey}`) }],
    biometrics: BIOMETRIC_POSITIONS.map(([modality, position], i) => ({
      modality,
      position,
      format: 'SYNTHETIC' as const,
      template: syntheticTemplate(o.biometricsOf ?? personKey, modality, position, captureSeed),
      quality: 70 + i * 7,
    })),
  };
}

/** A citizen's packet whose demographics are exactly what SIGA holds. */
export function citizenPacket(c: Citizen, options: PopulationPacketOptions = {}): EnrollmentPacket {
  return base(c.civilRegistryNumber, citizenDemographics(c) as EnrollmentPacket['demographics'], 'BIRTH_CERTIFICATE', options);
}

/** A foreign resident's packet whose demographics are exactly what Immigration holds. */
export function foreignerPacket(f: Foreigner, options: PopulationPacketOptions = {}): EnrollmentPacket {
  return base(f.permitNumber, foreignerDemographics(f) as EnrollmentPacket['demographics'], 'RESIDENCE_PERMIT', options);
}

/** Hands out people of the population one by one, so that no two scenarios enrol the same person by accident. */
export class PopulationPicker {
  private nextCitizen: number;
  private readonly firstForeigner: number;
  private readonly takenForeigners = new Set<number>();

  constructor(
    readonly population: Population,
    first = 0,
  ) {
    this.nextCitizen = first;
    this.firstForeigner = first;
  }

  /** The next living citizen (SIGA answers MATCH for their own demographics). */
  citizen(): Citizen {
    for (;;) {
      const c = this.population.citizen(this.nextCitizen++);
      if (c.civilStatus === 'ALIVE') return c;
    }
  }

  /** The next foreigner whose permit has this status. */
  foreigner(status: Foreigner['status']): Foreigner {
    for (let i = this.firstForeigner; i < this.population.foreignerCount; i++) {
      if (this.takenForeigners.has(i)) continue;
      const f = this.population.foreigner(i);
      if (f.status !== status) continue;
      this.takenForeigners.add(i);
      return f;
    }
    throw new RangeError(`no foreigner with a ${status} permit left`);
  }
}

import { createHash } from 'node:crypto';
import { type DeviceCredentials, type IntakeKey, sealPacket } from '@registo/packets';
import { type Citizen, type Foreigner, type Population, deriveSeed, mulberry32, syntheticTemplate } from '@registo/simulators';

/**
 * Builds enrollment packets as a registration client would (signed by its device key,
 * encrypted to the intake key), for people of the simulators' synthetic population, so SIGA
 * and Immigration know them. Each packet comes with what the platform should make of it.
 */

export interface DemoMix {
  /** Share of packets for foreigners (checked with Immigration). */
  foreigners: number;
  /** Share whose demographics disagree with the registry (a typo in the date of birth). */
  discrepancies: number;
  /** Share that enrol an already-enrolled person again (caught by de-duplication). */
  duplicates: number;
  /** Share refused at the door (biometric quality below the threshold). */
  invalid: number;
}

export const DEFAULT_MIX: DemoMix = { foreigners: 0.15, discrepancies: 0.05, duplicates: 0.05, invalid: 0.02 };

export type DemoKind = 'clean' | 'discrepancy' | 'duplicate' | 'invalid' | 'deceased' | 'permit-not-valid';

/**
 * The final state the platform should reach: the generator's ground truth. For a person
 * enrolled more than once, the platform may see either packet first: exactly one of the
 * group is approved, and which one is not part of the truth.
 */
export type Expected = 'APPROVED' | 'IN_ADJUDICATION' | 'REFUSED';

export interface DemoPacket {
  index: number;
  regId: string;
  kind: DemoKind;
  expected: Expected;
  /** For duplicates: the index of the packet of the same person. */
  duplicateOf: number | null;
  personKey: string;
  packet: Record<string, unknown>;
  body: string;
}

export interface DemoPacketOptions {
  population: Population;
  device: DeviceCredentials;
  intake: Pick<IntakeKey, 'publicKey' | 'kid'>;
  mix?: DemoMix;
  /** Seeds which packets are foreigners, duplicates, ...; the same seed gives the same run. */
  seed?: number;
  /** Index of the first citizen and foreigner to enrol (so that a second run enrols new people). */
  firstPerson?: number;
  /** Index of the first foreigner, when it differs from the first citizen's (a run resumed from `next()`). */
  firstForeigner?: number;
  operatorId?: string;
  /** Skip people the registries would refuse (deceased citizens, permits not valid): every clean packet then ends approved. */
  eligibleOnly?: boolean;
  /** The time in the registration ids (default: now), so runs never reuse an id. */
  now?: Date;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function stamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}`;
}

/** A date of birth off by one day: the commonest clerical discrepancy. */
function shiftDay(date: string): string {
  const day = Number(date.slice(8, 10));
  return `${date.slice(0, 8)}${pad(day === 28 ? 27 : day + 1, 2)}`;
}

/** What SIGA holds about a citizen, as a registration client captures it. */
export function citizenDemographics(c: Citizen): Record<string, unknown> & { dateOfBirth: string } {
  return {
    givenNames: c.givenNames,
    surname: c.surname,
    dateOfBirth: c.dateOfBirth,
    sex: c.sex,
    nationality: 'STP',
    address: { district: c.placeOfBirth.district, locality: c.placeOfBirth.locality },
    placeOfBirth: c.placeOfBirth.district,
    motherName: `${c.mother.givenNames} ${c.mother.surname}`,
    fatherName: `${c.father.givenNames} ${c.father.surname}`,
    civilRegistryNumber: c.civilRegistryNumber,
  };
}

/** What Immigration holds about a foreign resident, as a registration client captures it. */
export function foreignerDemographics(f: Foreigner): Record<string, unknown> & { dateOfBirth: string } {
  return {
    givenNames: f.givenNames,
    surname: f.surname,
    dateOfBirth: f.dateOfBirth,
    sex: f.sex,
    nationality: f.nationality,
    address: { district: 'Água Grande', locality: 'São Tomé' },
    residencePermitNumber: f.permitNumber,
  };
}

interface Person {
  key: string;
  citizen?: Citizen;
  foreigner?: Foreigner;
}

export class DemoPacketFactory {
  private readonly mix: DemoMix;
  private readonly seed: number;
  /** People whose first packet is clean, in order: the only ones enrolled again as duplicates. */
  private readonly cleanOriginals: Array<{ person: Person; index: number }> = [];
  private nextCitizen: number;
  private nextForeigner: number;
  private readonly stamp: string;

  constructor(private readonly options: DemoPacketOptions) {
    this.mix = options.mix ?? DEFAULT_MIX;
    this.seed = options.seed ?? 1;
    this.nextCitizen = options.firstPerson ?? 0;
    this.nextForeigner = options.firstForeigner ?? options.firstPerson ?? 0;
    this.stamp = stamp(options.now ?? new Date());
  }

  /** The first citizen and foreigner no packet has used yet: where a next run starts. */
  next(): { citizen: number; foreigner: number } {
    return { citizen: this.nextCitizen, foreigner: this.nextForeigner };
  }

  private newPerson(foreigner: boolean): Person {
    for (;;) {
      const person = this.anyPerson(foreigner);
      if (!this.options.eligibleOnly) return person;
      if (person.citizen?.civilStatus !== 'DECEASED' && (!person.foreigner || person.foreigner.status === 'VALID')) return person;
    }
  }

  private anyPerson(foreigner: boolean): Person {
    const p = this.options.population;
    if (foreigner && this.nextForeigner < p.foreignerCount) {
      const f = p.foreigner(this.nextForeigner++);
      return { key: f.permitNumber, foreigner: f };
    }
    if (this.nextCitizen >= p.citizenCount) throw new RangeError(`the population has only ${p.citizenCount} citizens`);
    const c = p.citizen(this.nextCitizen++);
    return { key: c.civilRegistryNumber, citizen: c };
  }

  /** Packet number `index` (call in order 0, 1, 2, ...: duplicates refer back to earlier ones). */
  async packet(index: number): Promise<DemoPacket> {
    const random = mulberry32(deriveSeed(this.seed, 'demo-packet', index));
    const roll = random();
    const m = this.mix;
    let kind: DemoKind = 'clean';
    let duplicateOf: number | null = null;
    let person: Person;
    // Only people whose first packet is clean are enrolled again: then, whichever of the two
    // the platform sees first, exactly one is approved and the other goes to an officer.
    const earlier = this.cleanOriginals;
    if (roll < m.duplicates && earlier.length > 0) {
      const original = earlier[Math.floor(random() * earlier.length)]!;
      person = original.person;
      duplicateOf = original.index;
      kind = 'duplicate';
    } else {
      person = this.newPerson(random() < m.foreigners);
      if (roll < m.duplicates + m.discrepancies) kind = 'discrepancy';
      else if (roll < m.duplicates + m.discrepancies + m.invalid) kind = 'invalid';
    }
    // The registry itself may say no: a deceased citizen, a permit that expired or was revoked.
    if (kind === 'clean' && person.citizen?.civilStatus === 'DECEASED') kind = 'deceased';
    if (kind === 'clean' && person.foreigner && person.foreigner.status !== 'VALID') kind = 'permit-not-valid';
    if (kind === 'clean') this.cleanOriginals.push({ person, index });

    // Filed under the device's own centre: a device speaks for no other.
    const regId = `${this.options.device.centreId}-${pad(index % 100_000, 5)}-${this.stamp}`;
    const packet = this.content(regId, person, kind, index, random);
    const body = await sealPacket(packet, {
      device: { privateKey: this.options.device.privateKey, certificatePem: this.options.device.certificatePem },
      intakePublicKey: this.options.intake.publicKey,
      intakeKid: this.options.intake.kid,
    });
    const expected: Expected = kind === 'invalid' ? 'REFUSED' : kind === 'clean' ? 'APPROVED' : 'IN_ADJUDICATION';
    return { index, regId, kind, expected, duplicateOf, personKey: person.key, packet, body };
  }

  private content(regId: string, person: Person, kind: DemoKind, index: number, random: () => number): Record<string, unknown> {
    const completed = new Date((this.options.now ?? new Date()).getTime() - 60_000);
    const started = new Date(completed.getTime() - 8 * 60_000);
    const c = person.citizen;
    const f = person.foreigner;
    const demographics: Record<string, unknown> = c ? citizenDemographics(c) : foreignerDemographics(f!);
    if (kind === 'discrepancy') demographics.dateOfBirth = shiftDay(demographics.dateOfBirth as string);
    const quality = (): number => (kind === 'invalid' ? 10 + Math.floor(random() * 20) : 60 + Math.floor(random() * 36));
    const capture = index + 1; // a new capture of the same fingers: close, never identical
    const biometrics = [
      ['FINGER', 'RIGHT_THUMB'],
      ['FINGER', 'LEFT_THUMB'],
      ['FACE', 'FACE'],
    ].map(([modality, position]) => ({
      modality,
      position,
      format: 'SYNTHETIC',
      template: syntheticTemplate(person.key, modality as 'FINGER' | 'FACE', position!, capture),
      quality: quality(),
    }));
    const documentType = c ? 'BIRTH_CERTIFICATE' : 'RESIDENCE_PERMIT';
    return {
      regId,
      packetType: 'NEW',
      centreId: this.options.device.centreId,
      operatorId: this.options.operatorId ?? 'operator-demo',
      deviceId: this.options.device.deviceId,
      capture: { startedAt: started.toISOString(), completedAt: completed.toISOString() },
      demographics,
      documents: [{ type: documentType, reference: `${documentType}/${person.key}`, sha256: sha256(`${documentType}:${person.key}`) }],
      biometrics,
    };
  }
}

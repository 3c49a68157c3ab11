import { randomBytes } from 'node:crypto';
import { type EventStore, PostgresDriver, SqlEventStore } from '@registo/event-store';
import { type KeyWrapper, SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import type { SyncSystem } from '@registo/external';
import {
  type EnrollmentDemographics,
  type IdentityRecord,
  type SyncState,
  fold,
  identityHandler,
  readStreamWith,
  subjectIdFor,
  syncDecider,
  syncStreamId,
} from '@registo/producers';
import { createPopulation, type Population } from '@registo/simulators';
import type { EventEnvelope, IdentityStatus } from '@registo/schemas';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/** One database, store and sealer for a sync test. */
export interface SyncWorld {
  db: TestDatabase;
  driver: PostgresDriver;
  store: EventStore;
  sealer: SubjectSealer;
  population: Population;
  close(): Promise<void>;
}

export async function openSyncWorld(wrapper: KeyWrapper = SoftwareKeyWrapper.generate()): Promise<SyncWorld> {
  const db = await createTestDatabase('registo_sync');
  const driver = new PostgresDriver({ connectionString: db.url });
  const store = await SqlEventStore.open(driver);
  const sealer = await SubjectSealer.open(driver, wrapper);
  return {
    db,
    driver,
    store,
    sealer,
    // The simulators' default population (same seed), so SIGA and Immigration know these people.
    population: createPopulation(),
    async close() {
      await store.close();
      await db.drop();
    },
  };
}

export interface SeededIdentity {
  uin: string;
  residency: 'CITIZEN' | 'FOREIGNER';
  demographics: EnrollmentDemographics;
  created: EventEnvelope;
}

let uinCounter = 0;
/** Unique per process and run: 10 digits, first one non-zero. */
export function testUin(): string {
  uinCounter++;
  return `${1 + (randomBytes(1)[0]! % 9)}${String(Date.now() % 1e5).padStart(5, '0')}${String(uinCounter).padStart(4, '0')}`.slice(0, 10);
}

/** The demographics a citizen and a foreigner record alike. */
function namedPerson(p: Pick<EnrollmentDemographics, 'givenNames' | 'surname' | 'dateOfBirth' | 'sex'>): Pick<EnrollmentDemographics, 'givenNames' | 'surname' | 'dateOfBirth' | 'sex'> {
  return { givenNames: p.givenNames, surname: p.surname, dateOfBirth: p.dateOfBirth, sex: p.sex };
}

/** Citizens alive in SIGA and foreigners with a valid permit, from `start` on, with everything the packet would hold. */
export function pickPeople(population: Population, kind: 'CITIZEN' | 'FOREIGNER', count: number, start = 0): EnrollmentDemographics[] {
  const out: EnrollmentDemographics[] = [];
  for (let i = start; out.length < count; i++) {
    if (kind === 'CITIZEN') {
      const c = population.citizen(i);
      if (c.civilStatus !== 'ALIVE') continue;
      out.push({
        ...namedPerson(c),
        nationality: 'STP',
        address: { district: c.placeOfBirth.district, locality: c.placeOfBirth.locality, line: `Rua ${i}, casa ${i % 90}` },
        placeOfBirth: c.placeOfBirth.district,
        motherName: `${c.mother.givenNames} ${c.mother.surname}`,
        fatherName: `${c.father.givenNames} ${c.father.surname}`,
        civilRegistryNumber: c.civilRegistryNumber,
      });
    } else {
      const f = population.foreigner(i);
      if (f.status !== 'VALID') continue;
      out.push({
        ...namedPerson(f),
        nationality: f.nationality,
        address: { district: 'Água Grande', locality: 'São Tomé', line: `Avenida ${i}` },
        residencePermitNumber: f.permitNumber,
      });
    }
  }
  return out;
}

/** Creates identities the way the enrollment process does: the record sealed under the enrollment's subject. */
export async function seedIdentities(world: SyncWorld, people: Array<{ residency: 'CITIZEN' | 'FOREIGNER'; demographics: EnrollmentDemographics }>): Promise<SeededIdentity[]> {
  const out: SeededIdentity[] = [];
  for (const p of people) {
    const uin = testUin();
    const regId = `R-${uin}`;
    const record: IdentityRecord = { demographics: p.demographics, biometrics: [{ modality: 'FACE', position: 'FRONTAL' }], documents: [] };
    const sealed = await world.sealer.seal(subjectIdFor(regId), record);
    const r = await identityHandler(world.store, uin, { type: 'CreateIdentity', uin, regId, residency: p.residency, sealed, civilRegistryIndex: null });
    out.push({ uin, residency: p.residency, demographics: p.demographics, created: r.events[0]! });
  }
  return out;
}

export async function changeStatus(world: SyncWorld, uin: string, to: IdentityStatus, source = 'OPERATOR'): Promise<EventEnvelope> {
  const r = await identityHandler(world.store, uin, { type: 'ChangeIdentityStatus', uin, to, reason: 'test', source });
  return r.events[0]!;
}

/** The state of one sync job, from its stream. */
export async function syncState(store: EventStore, syncId: string): Promise<{ state: SyncState; events: EventEnvelope[] }> {
  const events = await readStreamWith(store, syncStreamId(syncId), syncDecider.accepts, 'sync job');
  return { state: fold(syncDecider, events), events };
}

export async function settledCount(store: EventStore, syncIds: readonly string[]): Promise<number> {
  let n = 0;
  for (const id of syncIds) {
    const { state } = await syncState(store, id);
    if (state.status === 'SUCCEEDED' || state.status === 'DEAD_LETTERED') n++;
  }
  return n;
}

/** The sync each source event asks for, as `<system>.<eventId>`. */
export const expectedSyncId = (system: SyncSystem, event: EventEnvelope): string => `${system.toLowerCase()}.${event.eventId}`;

import { expect } from 'chai';
import type { CitizenDemographics, CivilPerson, CivilRegistry } from '@registo/external';

/** What each civil-registry adapter's test provides to run the one contract suite. */
export interface CivilRegistryHarness {
  name: string;
  open(): Promise<CivilRegistry>;
  /** A living person the registry holds, exactly as it should return them. */
  alive: CivilPerson;
  /** The number of a person the registry records as deceased. */
  deceasedNumber: string;
  /** A well-formed number the registry does not hold. */
  unknownNumber: string;
  cleanup(): Promise<void>;
}

function demographicsOf(person: CivilPerson): CitizenDemographics {
  return {
    givenNames: person.givenNames,
    surname: person.surname,
    dateOfBirth: person.dateOfBirth,
    sex: person.sex,
    placeOfBirth: person.placeOfBirth.district,
    motherName: `${person.mother.givenNames} ${person.mother.surname}`,
    fatherName: `${person.father.givenNames} ${person.father.surname}`,
  };
}

export function civilRegistryContract(harness: CivilRegistryHarness): void {
  describe(`CivilRegistry contract: ${harness.name}`, () => {
    let registry: CivilRegistry;
    before(async () => {
      registry = await harness.open();
    });
    after(() => harness.cleanup());

    it('returns a known person', async () => {
      expect(await registry.person(harness.alive.civilRegistryNumber)).to.deep.equal(harness.alive);
    });

    it('returns null for an unknown number', async () => {
      expect(await registry.person(harness.unknownNumber)).to.equal(null);
    });

    it('matches when every given field agrees', async () => {
      const result = await registry.verify({ civilRegistryNumber: harness.alive.civilRegistryNumber, demographics: demographicsOf(harness.alive) });
      expect(result).to.deep.equal({ outcome: 'MATCH', discrepancies: [] });
    });

    it('compares only the fields given', async () => {
      const result = await registry.verify({
        civilRegistryNumber: harness.alive.civilRegistryNumber,
        demographics: { dateOfBirth: harness.alive.dateOfBirth },
      });
      expect(result.outcome).to.equal('MATCH');
    });

    it('names exactly the fields that disagree', async () => {
      const result = await registry.verify({
        civilRegistryNumber: harness.alive.civilRegistryNumber,
        demographics: { ...demographicsOf(harness.alive), givenNames: 'Ninguém', placeOfBirth: 'Atlântida' },
      });
      expect(result.outcome).to.equal('MISMATCH');
      expect([...result.discrepancies].sort()).to.deep.equal(['givenNames', 'placeOfBirth']);
    });

    it('never matches a deceased person', async () => {
      const result = await registry.verify({ civilRegistryNumber: harness.deceasedNumber, demographics: { sex: 'M' } });
      expect(result.outcome).to.equal('MISMATCH');
      expect(result.discrepancies).to.include('civilStatus');
    });

    it('reports NOT_FOUND for an unknown number', async () => {
      const result = await registry.verify({ civilRegistryNumber: harness.unknownNumber, demographics: { sex: 'F' } });
      expect(result).to.deep.equal({ outcome: 'NOT_FOUND', discrepancies: [] });
    });

    it('gives the same answer when a call is repeated with the same idempotency key', async () => {
      const input = { civilRegistryNumber: harness.alive.civilRegistryNumber, demographics: { surname: 'Outro' } };
      const first = await registry.verify(input, { idempotencyKey: 'check-1' });
      expect(await registry.verify(input, { idempotencyKey: 'check-1' })).to.deep.equal(first);
    });
  });
}

import { expect } from 'chai';
import fc from 'fast-check';
import { STP_DISTRICTS } from '../src/names.js';
import { civilRegistryNumber, createPopulation, generateCitizen, permitNumber } from '../src/population.js';

describe('synthetic population', () => {
  it('gives the same people for the same seed, and different ones for another seed', () => {
    const a = createPopulation({ seed: 7 });
    const b = createPopulation({ seed: 7 });
    const c = createPopulation({ seed: 8 });
    for (const i of [0, 1, 42, 9_999]) {
      expect(a.citizen(i)).to.deep.equal(b.citizen(i));
    }
    expect(a.foreigner(999)).to.deep.equal(b.foreigner(999));
    const differing = [0, 1, 2, 3, 4].filter((i) => JSON.stringify(a.citizen(i)) !== JSON.stringify(c.citizen(i)));
    expect(differing.length).to.be.greaterThan(3);
  });

  it('is random access: a record does not depend on the population size or on earlier records', () => {
    expect(createPopulation({ seed: 3, citizens: 50 }).citizen(10)).to.deep.equal(generateCitizen(3, 10));
    expect(createPopulation({ seed: 3, citizens: 20_000 }).citizen(10)).to.deep.equal(generateCitizen(3, 10));
  });

  it('defaults to 10,000 citizens and 1,000 foreigners', () => {
    const population = createPopulation();
    expect(population.citizenCount).to.equal(10_000);
    expect(population.foreignerCount).to.equal(1_000);
    expect(() => population.citizen(10_000)).to.throw(RangeError);
    expect(() => population.foreigner(1_000)).to.throw(RangeError);
  });

  it('finds people by their number, and nobody by a wrong, mistyped or out-of-range number', () => {
    const population = createPopulation({ citizens: 100, foreigners: 10 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), (i) => {
        expect(population.findCitizen(civilRegistryNumber(i))).to.deep.equal(population.citizen(i));
      }),
    );
    expect(population.findForeigner(permitNumber(9))).to.deep.equal(population.foreigner(9));
    expect(population.findCitizen(civilRegistryNumber(100))).to.equal(undefined);
    expect(population.findForeigner(permitNumber(10))).to.equal(undefined);
    expect(population.findCitizen('nonsense')).to.equal(undefined);
    const good = civilRegistryNumber(5);
    const wrongCheckDigit = `${good.slice(0, -1)}${(Number(good.slice(-1)) + 1) % 10}`;
    expect(population.findCitizen(wrongCheckDigit)).to.equal(undefined);
  });

  it('draws plausible São Tomé and Príncipe citizens', () => {
    const population = createPopulation({ citizens: 2_000 });
    const districts = new Set<string>();
    const names = STP_DISTRICTS.map((d) => d.name);
    let deceased = 0;
    for (let i = 0; i < population.citizenCount; i++) {
      const c = population.citizen(i);
      expect(names).to.include(c.placeOfBirth.district);
      expect(c.dateOfBirth).to.match(/^\d{4}-\d{2}-\d{2}$/);
      expect(['M', 'F']).to.include(c.sex);
      expect(c.surname).to.include(c.father.surname);
      expect(c.dateOfDeath === null).to.equal(c.civilStatus === 'ALIVE');
      districts.add(c.placeOfBirth.district);
      if (c.civilStatus === 'DECEASED') deceased++;
    }
    expect(districts.size).to.equal(7);
    expect(districts).to.include('Pagué');
    expect(deceased).to.be.within(1, 1_000);
  });

  it('gives foreigners permits whose dates agree with their status on the reference date', () => {
    const population = createPopulation({ foreigners: 1_000, referenceDate: '2025-06-30' });
    const statuses = new Set<string>();
    for (let i = 0; i < population.foreignerCount; i++) {
      const f = population.foreigner(i);
      statuses.add(f.status);
      expect(f.validFrom < f.validUntil).to.equal(true);
      if (f.status === 'EXPIRED') expect(f.validUntil < '2025-06-30').to.equal(true);
      if (f.status === 'VALID') expect(f.validFrom <= '2025-06-30' && '2025-06-30' < f.validUntil).to.equal(true);
    }
    expect([...statuses].sort()).to.deep.equal(['EXPIRED', 'REVOKED', 'VALID']);
  });
});

import { expect } from 'chai';
import { isRegistoError } from '@registo/schemas';
import { validatePacketContent } from '../src/index.js';
import { mutated, validPacket } from './fixtures.js';

const NOW = new Date('2026-11-22T10:00:00Z');

describe('refusals name fields and rules, never the values', () => {
  // A refusal is read back by registration clients, exported to auditors, and outlives erasure.
  const person = validPacket({ demographics: { givenNames: 'Lucinda', surname: 'Trovoada', dateOfBirth: '1943-06-26' } }, NOW);
  const valuesOf = (p: unknown): string[] => {
    const d = (p as { demographics: Record<string, unknown> }).demographics;
    return Object.values(d).flatMap((v) => (typeof v === 'string' ? [v] : typeof v === 'object' && v !== null ? Object.values(v).map(String) : []));
  };
  const cases: Array<[string, unknown]> = [
    ['born after the capture', mutated(person, (p) => (p.capture = { startedAt: '1943-06-25T08:00:00Z', completedAt: '1943-06-25T08:10:00Z' }))],
    ['born in the future', mutated(person, (p) => (p.demographics.dateOfBirth = '2031-01-05'))],
    ['born before 1900', mutated(person, (p) => (p.demographics.dateOfBirth = '1899-12-31'))],
    ['not a calendar date', mutated(person, (p) => (p.demographics.dateOfBirth = '1943-02-30'))],
    ['a district that is not one', mutated(person, (p) => (p.demographics.address.district = 'Lisboa'))],
    ['a place of birth that is not one', mutated(person, (p) => (p.demographics.placeOfBirth = 'Luanda'))],
    ['a control character in a name', mutated(person, (p) => (p.demographics.surname = 'Trovoada\u0007'))],
    ['a name too long', mutated(person, (p) => (p.demographics.fatherName = 'Trovoada '.repeat(30)))],
    ['a sex outside the list', mutated(person, (p) => (p.demographics.sex = 'Lucinda'))],
    ['a registry number of the wrong form', mutated(person, (p) => (p.demographics.civilRegistryNumber = '#CR-1943-06-26'))],
    ['a capture that is no instant', mutated(person, (p) => (p.capture.startedAt = '1943-06-26T25:00:00Z'))],
  ];
  for (const [name, content] of cases) {
    it(name, () => {
      let refusal: unknown;
      try {
        validatePacketContent(content, { now: NOW });
      } catch (e) {
        refusal = e;
      }
      expect(isRegistoError(refusal), 'refused').to.equal(true);
      if (!isRegistoError(refusal)) return;
      const said = `${refusal.message} ${JSON.stringify(refusal.details)}`;
      for (const value of [...valuesOf(content), '1943', 'Trovoada']) expect(said, `${refusal.code} repeats ${value}`).not.to.include(value);
    });
  }
});

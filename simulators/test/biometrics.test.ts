import { expect } from 'chai';
import fc from 'fast-check';
import {
  BIOMETRIC_MODALITIES,
  TEMPLATE_LENGTH,
  compareTemplates,
  decodeTemplate,
  syntheticTemplate,
} from '../src/biometrics.js';

const modality = fc.constantFrom(...BIOMETRIC_MODALITIES);
const position = fc.constantFrom('RIGHT_THUMB', 'LEFT_INDEX', 'FRONTAL', 'LEFT', 'RIGHT');
const captureSeed = fc.integer({ min: 0, max: 0xffffffff });

describe('synthetic biometric templates', () => {
  it('are deterministic in person, modality, position and capture seed', () => {
    const first = syntheticTemplate('person-1', 'FINGER', 'RIGHT_THUMB', 7);
    expect(syntheticTemplate('person-1', 'FINGER', 'RIGHT_THUMB', 7)).to.equal(first);
    expect(syntheticTemplate('person-1', 'FINGER', 'RIGHT_THUMB', 8)).not.to.equal(first);
    expect(decodeTemplate(first)).to.have.length(TEMPLATE_LENGTH);
  });

  it('score two captures of the same person and position at 0.95 or more', () => {
    fc.assert(
      fc.property(fc.string(), modality, position, captureSeed, captureSeed, (person, m, p, s1, s2) => {
        expect(compareTemplates(syntheticTemplate(person, m, p, s1), syntheticTemplate(person, m, p, s2))).to.be.at.least(0.95);
      }),
      { numRuns: 2000 },
    );
  });

  it('score different people well below 0.5, whatever the captures', () => {
    const twoPeople = fc.tuple(fc.string(), fc.string()).filter(([a, b]) => a !== b);
    fc.assert(
      fc.property(twoPeople, modality, position, captureSeed, captureSeed, ([a, b], m, p, s1, s2) => {
        expect(compareTemplates(syntheticTemplate(a, m, p, s1), syntheticTemplate(b, m, p, s2))).to.be.below(0.5);
      }),
      { numRuns: 2000 },
    );
  });

  it('score another finger of the same person like another person', () => {
    const thumb = syntheticTemplate('person-2', 'FINGER', 'RIGHT_THUMB', 1);
    expect(compareTemplates(thumb, syntheticTemplate('person-2', 'FINGER', 'LEFT_THUMB', 1))).to.be.below(0.5);
    expect(compareTemplates(thumb, syntheticTemplate('person-2', 'IRIS', 'RIGHT_THUMB', 1))).to.be.below(0.5);
  });

  it('compare symmetrically, and a template with itself scores 1', () => {
    const a = syntheticTemplate('a', 'FACE', 'FRONTAL', 1);
    const b = syntheticTemplate('a', 'FACE', 'FRONTAL', 2);
    expect(compareTemplates(a, b)).to.equal(compareTemplates(b, a));
    expect(compareTemplates(a, a)).to.be.closeTo(1, 1e-12);
  });

  it('refuse malformed input', () => {
    const good = syntheticTemplate('a', 'IRIS', 'LEFT', 1);
    const bytes = (n: number, fill = 1): string => Buffer.alloc(n, fill).toString('base64');
    for (const bad of [
      '',
      'not base64!',
      good.slice(0, -4),
      `${good}AAAA`,
      bytes(TEMPLATE_LENGTH - 1),
      bytes(TEMPLATE_LENGTH + 1),
      bytes(TEMPLATE_LENGTH, 0),
      good.replace(/=+$/, ''),
      ` ${good}`,
    ]) {
      expect(() => decodeTemplate(bad), JSON.stringify(bad)).to.throw();
      expect(() => compareTemplates(good, bad), JSON.stringify(bad)).to.throw();
    }
    expect(() => decodeTemplate(42 as unknown as string)).to.throw();
  });
});

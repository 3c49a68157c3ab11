import { expect } from 'chai';
import fc from 'fast-check';
import { STP_ADMIN_UNITS, STP_ADMIN_UNIT_NAMES, adminUnit, isAdminUnit, isRegistoError } from '@registo/schemas';
import {
  CAPTURE_CLOCK_SKEW_MS,
  REG_ID_PATTERN,
  isCalendarDate,
  parseTimestamp,
  validatePacketContent,
} from '../src/index.js';
import { mutated, validForeignerPacket, validPacket } from './fixtures.js';

const NOW = new Date('2026-11-22T10:00:00Z');

function codeOf(content: unknown, options: { now?: Date; qualityThreshold?: number } = { now: NOW }): string | 'ACCEPTED' {
  try {
    validatePacketContent(content, options);
    return 'ACCEPTED';
  } catch (e) {
    if (!isRegistoError(e)) throw e;
    return e.code;
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const ymd = (y: number, m: number, d: number) => `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
const daysIn = (y: number, m: number) => [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;

describe('administrative units of São Tomé and Príncipe', () => {
  it('lists the six districts of São Tomé island and Pagué (Príncipe), with their seats', () => {
    expect(STP_ADMIN_UNIT_NAMES).to.have.members(['Água Grande', 'Mé-Zóchi', 'Cantagalo', 'Caué', 'Lembá', 'Lobata', 'Pagué']);
    expect(STP_ADMIN_UNITS.filter((u) => u.island === 'São Tomé')).to.have.length(6);
    expect(adminUnit('Pagué')).to.deep.equal({ name: 'Pagué', island: 'Príncipe', seat: 'Santo António' });
    expect(adminUnit('Mé-Zóchi')?.seat).to.equal('Trindade');
    for (const name of STP_ADMIN_UNIT_NAMES) expect(isAdminUnit(name), name).to.equal(true);
  });

  it('accepts only the exact names: no other string, no accent-less or re-cased spelling', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom(...STP_ADMIN_UNIT_NAMES).map((n) => n.normalize('NFD').replace(/\p{M}/gu, ''))), (s) => {
        expect(isAdminUnit(s)).to.equal(STP_ADMIN_UNIT_NAMES.includes(s));
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...STP_ADMIN_UNIT_NAMES), (n) => {
        expect(isAdminUnit(n.toUpperCase())).to.equal(false);
      }),
    );
    expect(isAdminUnit(42)).to.equal(false);
  });

  it('a packet is accepted with any unit as address and place of birth, and refused with any other name', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STP_ADMIN_UNIT_NAMES), fc.constantFrom(...STP_ADMIN_UNIT_NAMES), (district, placeOfBirth) => {
        expect(codeOf(validPacket({ demographics: { address: { district }, placeOfBirth } }, NOW))).to.equal('ACCEPTED');
      }),
    );
    const notAUnit = fc.string({ minLength: 1, maxLength: 40 })
      // Blank text is a schema fault (the shared text check), not a place the country lacks.
      .filter((s) => /^[\p{L} -]+$/u.test(s) && s.trim() !== '' && !isAdminUnit(s));
    fc.assert(
      fc.property(notAUnit, fc.boolean(), (name, asAddress) => {
        const p = asAddress ? validPacket({ demographics: { address: { district: name } } }, NOW) : validPacket({ demographics: { placeOfBirth: name } }, NOW);
        expect(codeOf(p)).to.equal('PACKET_UNKNOWN_ADMIN_UNIT');
      }),
    );
  });
});

describe('enrollment packet content rules', () => {
  it('the valid fixtures pass (residency is the register\'s reading of nationality: producers\' packet rules)', () => {
    expect(codeOf(validPacket({}, NOW))).to.equal('ACCEPTED');
    expect(validatePacketContent(validForeignerPacket(NOW), { now: NOW }).demographics.nationality).to.not.equal('STP');
    expect(REG_ID_PATTERN.test('10031-00042-20261122093015')).to.equal(true);
  });

  it('isCalendarDate agrees with the calendar for every year, month and day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, m, d) => {
        const real = m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m);
        expect(isCalendarDate(ymd(y, m, d))).to.equal(real);
      }),
      { numRuns: 2000 },
    );
    expect(isCalendarDate('2024-02-29')).to.equal(true);
    expect(isCalendarDate('2023-02-29')).to.equal(false);
    expect(isCalendarDate('1900-02-29')).to.equal(false);
  });

  it('every real date of birth from 1900 up to the capture is accepted; other days are impossible', () => {
    const days = fc.record({ y: fc.integer({ min: 1850, max: 2100 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 31 }) });
    fc.assert(
      fc.property(days, ({ y, m, d }) => {
        const dob = ymd(y, m, d);
        const possible = d <= daysIn(y, m) && dob >= '1900-01-01' && dob <= NOW.toISOString().slice(0, 10);
        const code = codeOf(validPacket({ demographics: { dateOfBirth: dob } }, NOW));
        expect(code, dob).to.equal(possible ? 'ACCEPTED' : 'PACKET_IMPOSSIBLE_DATE');
      }),
      { numRuns: 500 },
    );
  });

  it('a capture may end up to the clock-skew allowance after now, and never before it started', () => {
    fc.assert(
      fc.property(fc.integer({ min: -3_600_000, max: 3_600_000 }), fc.integer({ min: -600_000, max: 600_000 }), (endOffset, duration) => {
        const completedAt = new Date(NOW.getTime() + endOffset);
        const startedAt = new Date(completedAt.getTime() - duration);
        const p = validPacket({ capture: { startedAt: startedAt.toISOString(), completedAt: completedAt.toISOString() } }, NOW);
        const possible = duration >= 0 && endOffset <= CAPTURE_CLOCK_SKEW_MS;
        expect(codeOf(p)).to.equal(possible ? 'ACCEPTED' : 'PACKET_IMPOSSIBLE_DATE');
      }),
      { numRuns: 300 },
    );
  });

  it('timestamps with offsets name the same instant; out-of-range fields are impossible', () => {
    expect(parseTimestamp('2026-11-22T11:00:00+01:00')?.toISOString()).to.equal('2026-11-22T10:00:00.000Z');
    for (const bad of ['2026-11-22T24:00:00Z', '2026-11-22T10:60:00Z', '2026-02-29T10:00:00Z', '2026-11-22T10:00:00+15:00']) {
      expect(parseTimestamp(bad), bad).to.equal(undefined);
    }
    const p = validPacket({ capture: { startedAt: '2026-11-22T09:00:00-01:00', completedAt: '2026-11-22T09:59:00-01:00' } }, NOW);
    expect(codeOf(p)).to.equal('PACKET_IMPOSSIBLE_DATE'); // 10:59Z: an hour in the future
  });

  it('quality: refused exactly when some capture is below the threshold (default 40)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 10 }), fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), (qualities, threshold) => {
        const p = validPacket({}, NOW);
        p.biometrics = qualities.map((quality, i) => ({ modality: 'FINGER', position: `FINGER_${'ABCDEFGHIJ'[i]}`, format: 'SYNTHETIC', template: 'AAAA', quality }));
        const low = qualities.some((q) => q < (threshold ?? 40));
        expect(codeOf(p, { now: NOW, qualityThreshold: threshold })).to.equal(low ? 'PACKET_QUALITY_TOO_LOW' : 'ACCEPTED');
      }),
    );
  });

  it('schema errors list the offending paths, extra fields by name', () => {
    const content = mutated(validPacket({}, NOW), (p) => {
      p.extra = 1;
      p.demographics.sex = 'X';
      delete p.capture.completedAt;
    });
    try {
      validatePacketContent(content, { now: NOW });
      expect.fail('accepted');
    } catch (e) {
      if (!isRegistoError(e)) throw e;
      expect(e.code).to.equal('PACKET_SCHEMA_INVALID');
      expect(e.message).to.include('extra').and.include('demographics.sex').and.include('capture.completedAt');
    }
  });

  it('names and places go through the shared text check: invisible characters are schema errors at their path, NFD text is carried on as NFC', () => {
    const hostile = { 'right-to-left override': 'Maria \u202Eairam', 'zero-width space': 'Ma\u200Bria', BOM: '\uFEFFMaria', 'lone surrogate': 'Maria \uD800', digits: 'Maria 2' };
    for (const [kind, value] of Object.entries(hostile)) {
      for (const field of ['givenNames', 'surname', 'motherName'] as const) {
        const p = mutated(validPacket({}, NOW), (x) => (x.demographics[field] = value));
        try {
          validatePacketContent(p, { now: NOW });
          expect.fail(`${kind} in ${field} accepted`);
        } catch (e) {
          if (!isRegistoError(e)) throw e;
          expect(e.code, `${kind} in ${field}`).to.equal('PACKET_SCHEMA_INVALID');
          expect(e.message).to.include(`demographics.${field}`);
          // The refusal names the rule, never the text.
          expect(JSON.stringify(e.details)).to.not.include('Maria');
        }
      }
    }
    const decomposed = mutated(validPacket({}, NOW), (x) => {
      x.demographics.givenNames = 'Conceic\u0327a\u0303o';
      x.demographics.address.district = 'Me\u0301-Zo\u0301chi';
    });
    const accepted = validatePacketContent(decomposed, { now: NOW });
    expect(accepted.demographics.givenNames).to.equal('Conceição');
    expect(accepted.demographics.address.district).to.equal('Mé-Zóchi');
  });

  it('the same capture twice (modality and position) is a schema error', () => {
    const p = mutated(validPacket({}, NOW), (x) => x.biometrics.push({ ...x.biometrics[0] }));
    expect(codeOf(p)).to.equal('PACKET_SCHEMA_INVALID');
  });
});

import { expect } from 'chai';
import fc from 'fast-check';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import {
  DEFAULT_UIN_POLICY,
  createIdentityWithNewUin,
  generateUin,
  keyedDigitSource,
  uinViolations,
  verhoeffDigit,
  verhoeffValid,
  type DigitSource,
  type UinPolicy,
} from '../src/index.js';

/** A seeded digit source (mulberry32) so that properties are reproducible. */
function seeded(seed: number): DigitSource {
  let a = seed >>> 0;
  return (min, max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return min + Math.floor(r * (max - min));
  };
}

describe('UIN', () => {
  describe('Verhoeff check digit', () => {
    it('matches published examples', () => {
      // 236 → 3 and 12345 → 1 are the classic worked examples.
      expect(verhoeffDigit('236')).to.equal(3);
      expect(verhoeffValid('2363')).to.equal(true);
      expect(verhoeffDigit('12345')).to.equal(1);
      expect(verhoeffValid('123451')).to.equal(true);
      expect(verhoeffValid('123452')).to.equal(false);
    });

    it('catches every single-digit error', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[0-9]{5,15}$/), fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
          const n = body + String(verhoeffDigit(body));
          const i = at % n.length;
          const changed = n.slice(0, i) + String((Number(n[i]) + delta) % 10) + n.slice(i + 1);
          return verhoeffValid(n) && !verhoeffValid(changed);
        }),
        { numRuns: 2000 },
      );
    });

    it('catches every transposition of adjacent different digits', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[0-9]{5,15}$/), fc.nat(), (body, at) => {
          const n = body + String(verhoeffDigit(body));
          const i = at % (n.length - 1);
          fc.pre(n[i] !== n[i + 1]);
          const swapped = n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2);
          return !verhoeffValid(swapped);
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('rules', () => {
    const valid = generateUin(DEFAULT_UIN_POLICY, seeded(7));
    const cases: Array<[string, string, string]> = [
      ['wrong length', '234567890', 'LENGTH'],
      ['not digits', '23456789a0', 'LENGTH'],
      ['leading 0', `0${valid.slice(1)}`, 'LEADING_DIGIT'],
      ['leading 1', `1${valid.slice(1)}`, 'LEADING_DIGIT'],
      ['a digit repeated next to itself', '2774902516', 'REPEATING_DIGIT'],
      ['a digit repeated one apart', '2747902516', 'REPEATING_DIGIT'],
      ['an ascending run', '2934507186', 'SEQUENCE'],
      ['a descending run', '2987506134', 'SEQUENCE'],
      ['a repeated block', '2948529486', 'REPEATING_BLOCK'],
      ['first five equal the last five', '2940729407', 'FIRST_EQUALS_LAST'],
      ['first five equal the last five reversed', '2940770492', 'FIRST_EQUALS_REVERSED_LAST'],
    ];
    for (const [what, uin, rule] of cases) {
      it(`refuses ${what} (${rule})`, () => expect(uinViolations(uin)).to.include(rule));
    }
    it('refuses a wrong check digit', () => {
      const wrong = valid.slice(0, -1) + String((Number(valid.at(-1)) + 1) % 10);
      expect(uinViolations(wrong)).to.include('CHECK_DIGIT');
    });
    it('refuses restricted numbers', () => {
      expect(uinViolations(valid, { ...DEFAULT_UIN_POLICY, restricted: [valid.slice(2, 6)] })).to.deep.equal(['RESTRICTED']);
    });
  });

  describe('generator', () => {
    for (const length of [10, 12] as const) {
      it(`every generated ${length}-digit UIN passes every rule`, () => {
        const policy: UinPolicy = { ...DEFAULT_UIN_POLICY, length };
        fc.assert(
          fc.property(fc.integer(), (seed) => {
            const uin = generateUin(policy, seeded(seed));
            expect(uinViolations(uin, policy), uin).to.deep.equal([]);
            expect(uin).to.have.length(length);
            return true;
          }),
          { numRuns: 1000 },
        );
      });
    }

    it('uses every allowed leading digit (draws are spread, not stuck)', () => {
      // Uniqueness is not the generator's job (random draws can collide: allocation skips taken numbers).
      const draw = seeded(42);
      const leading = new Set(Array.from({ length: 2_000 }, () => generateUin(DEFAULT_UIN_POLICY, draw)[0]));
      expect([...leading].sort()).to.deep.equal(['2', '3', '4', '5', '6', '7', '8', '9']);
    });
  });

  describe('allocation', () => {
    const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

    it('is unique by construction: a drawn UIN that is taken is skipped for another', async () => {
      const store = await SqlEventStore.open(await PGliteDriver.open());
      try {
        // Two allocators with the same seed draw the same first number.
        const first = await createIdentityWithNewUin(store, { regId: 'R-1', residency: 'CITIZEN', sealed }, { draw: seeded(99) });
        const second = await createIdentityWithNewUin(store, { regId: 'R-2', residency: 'FOREIGNER', sealed }, { draw: seeded(99) });
        expect(first.collisions).to.equal(0);
        expect(second.collisions).to.equal(1);
        expect(second.uin).to.not.equal(first.uin);
        expect((await store.readStream(`identity-${first.uin}`)).map((e) => e.data.regId)).to.deep.equal(['R-1']);
        expect((await store.readStream(`identity-${second.uin}`)).map((e) => e.data.regId)).to.deep.equal(['R-2']);
      } finally {
        await store.close();
      }
    });
  });
});

describe('UIN allocation per enrollment (keyed digit source)', () => {
  const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
  const key = Buffer.alloc(32, 7);

  it('a retried allocation for the same enrollment returns the identity it created, never a second one', async () => {
    const store = await SqlEventStore.open(await PGliteDriver.open());
    try {
      const data = { regId: 'R-77', residency: 'CITIZEN' as const, sealed };
      const first = await createIdentityWithNewUin(store, data, { draw: keyedDigitSource(key, 'R-77') });
      const retried = await createIdentityWithNewUin(store, data, { draw: keyedDigitSource(key, 'R-77') });
      expect(retried.uin).to.equal(first.uin);
      expect(retried.events).to.deep.equal([]);
      const other = await createIdentityWithNewUin(store, { ...data, regId: 'R-78' }, { draw: keyedDigitSource(key, 'R-78') });
      expect(other.uin).to.not.equal(first.uin);
      const all = await store.readAll();
      expect(all.filter((e) => e.type === 'IdentityCreated').map((e) => e.data.regId)).to.deep.equal(['R-77', 'R-78']);
    } finally {
      await store.close();
    }
  });

  it('draws uniformly distributed digits and different sequences for different seeds or keys', () => {
    const counts = new Array(10).fill(0);
    const d = keyedDigitSource(key, 'seed');
    for (let i = 0; i < 20_000; i++) counts[d(0, 10)]++;
    for (const c of counts) expect(c).to.be.within(1700, 2300);
    const seq = (k: Buffer, s: string) => Array.from({ length: 20 }, ((src) => () => src(0, 10))(keyedDigitSource(k, s))).join('');
    expect(seq(key, 'a')).to.equal(seq(key, 'a'));
    expect(seq(key, 'a')).to.not.equal(seq(key, 'b'));
    expect(seq(key, 'a')).to.not.equal(seq(Buffer.alloc(32, 8), 'a'));
  });
});

import { expect } from 'chai';
import fc from 'fast-check';
import { type TextKind, checkText } from '../../src/index.js';

const problemOf = (raw: string, kind: TextKind) => {
  const r = checkText(raw, kind);
  return r.ok ? 'OK' : r.problem;
};

describe('the shared text check (NFC, then the field kind\'s characters)', () => {
  it('accepts the names and places of the population as written, and hands back their NFC form', () => {
    for (const name of ['Maria da Conceição', "D'Alva", 'Nazaré Bragança-Neves', 'José Ó. Lima', 'Zoë Ñúñez', 'Ana Rita']) expect(problemOf(name, 'name'), name).to.equal('OK');
    for (const place of ['Mé-Zóchi', 'Rua da Independência 12', 'Bairro 3, casa nº 4 (fundo)', 'Santo António']) expect(problemOf(place, 'place'), place).to.equal('OK');
    const decomposed = 'Conceic\u0327a\u0303o';
    const r = checkText(decomposed, 'name');
    expect(r.ok && r.value).to.equal('Conceição');
    expect(r.ok && r.value.length).to.be.lessThan(decomposed.length);
  });

  it('refuses bidi controls, zero-width characters, U+FEFF, private use, separators — in every kind of field', () => {
    const invisible = ['\u202E', '\u202D', '\u2066', '\u2067', '\u2068', '\u2069', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\uE000', '\u2028', '\u2029'];
    for (const kind of ['name', 'place', 'free'] as const) {
      for (const c of invisible) expect(problemOf(`Maria${c}Silva`, kind), `U+${c.codePointAt(0)!.toString(16)} in ${kind}`).to.equal('INVISIBLE_CHARACTER');
    }
  });

  it('refuses lone surrogates, control characters and blank text; keeps well-paired astral characters in free text', () => {
    for (const kind of ['name', 'place', 'free'] as const) {
      expect(problemOf('Maria \uD800', kind)).to.equal('NOT_WELL_FORMED');
      expect(problemOf('\uDC00Maria', kind)).to.equal('NOT_WELL_FORMED');
      for (const c of ['\u0000', '\u0007', '\t', '\n', '\u001B', '\u007F', '\u0085', '\u009B']) expect(problemOf(`Ma${c}ria`, kind), JSON.stringify(c)).to.equal('CONTROL_CHARACTER');
      expect(problemOf('   ', kind)).to.equal('EMPTY');
    }
    expect(problemOf('card reported stolen 😀 — see file #12/2026', 'free')).to.equal('OK');
  });

  it('names hold letters, marks and name punctuation only; places add digits and address punctuation', () => {
    for (const bad of ['Maria2', 'Maria <script>', 'Maria@home', 'Maria_Silva', 'Maria;', 'Maria/Silva']) expect(problemOf(bad, 'name'), bad).to.equal('CHARACTER_NOT_ALLOWED');
    for (const bad of ['Rua <b>', 'Rua {x}', 'Rua | 2', 'Rua ~']) expect(problemOf(bad, 'place'), bad).to.equal('CHARACTER_NOT_ALLOWED');
  });

  it('any string: accepted text is NFC and free of the refused categories; refusals never echo the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom<TextKind>('name', 'place', 'free'), (s, kind) => {
        const r = checkText(s, kind);
        if (r.ok) {
          expect(r.value).to.equal(r.value.normalize('NFC'));
          expect(r.value.isWellFormed()).to.equal(true);
          expect(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(r.value)).to.equal(false);
        } else if (s.trim().length > 0) {
          expect(r.message.includes(s)).to.equal(false);
        }
      }),
    );
  });
});

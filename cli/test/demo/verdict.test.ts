import { expect } from 'chai';
import { type Got, DEMO_EXIT, demoVerdict, differences } from '../../src/demo/verdict.js';
import type { DemoKind, Expected } from '../../src/demo/packets.js';

type Row = { kind: DemoKind; expected: Expected; duplicateOf?: number; got: Got };

function judge(rows: Row[]) {
  const packets = rows.map((r, index) => ({ index, regId: `r${index}`, kind: r.kind, expected: r.expected, duplicateOf: r.duplicateOf ?? null }));
  return differences(packets, (i) => rows[i]!.got);
}

const clean = (got: Got): Row => ({ kind: 'clean', expected: 'APPROVED', got });
const duplicateOf = (i: number, got: Got): Row => ({ kind: 'duplicate', expected: 'IN_ADJUDICATION', duplicateOf: i, got });

describe('demo differences', () => {
  it('a person enrolled twice: either packet may be the approved one', () => {
    expect(judge([clean('APPROVED'), duplicateOf(0, 'IN_ADJUDICATION')])).to.deep.equal([]);
    expect(judge([clean('IN_ADJUDICATION'), duplicateOf(0, 'APPROVED')])).to.deep.equal([]);
  });

  it('none of the group approved: one difference, for the first packet, never "expected X got X"', () => {
    const found = judge([clean('IN_ADJUDICATION'), duplicateOf(0, 'IN_ADJUDICATION'), duplicateOf(0, 'IN_ADJUDICATION')]);
    expect(found).to.deep.equal([{ regId: 'r0', kind: 'clean', expected: 'APPROVED', got: 'IN_ADJUDICATION' }]);
  });

  it('two of the group approved: the later one is the difference', () => {
    expect(judge([clean('APPROVED'), duplicateOf(0, 'APPROVED')])).to.deep.equal([{ regId: 'r1', kind: 'duplicate', expected: 'IN_ADJUDICATION', got: 'APPROVED' }]);
  });

  it('pending packets are not differences, and a pending member leaves the group undecided', () => {
    expect(judge([clean('PENDING'), duplicateOf(0, 'IN_ADJUDICATION'), clean('PENDING')])).to.deep.equal([]);
    expect(judge([clean('PENDING'), duplicateOf(0, 'REJECTED')])).to.deep.equal([{ regId: 'r1', kind: 'duplicate', expected: 'IN_ADJUDICATION', got: 'REJECTED' }]);
  });

  it('lists single packets in order, each against its own expectation', () => {
    const found = judge([clean('APPROVED'), { kind: 'invalid', expected: 'REFUSED', got: 'APPROVED' }, clean('REFUSED'), { kind: 'deceased', expected: 'IN_ADJUDICATION', got: 'IN_ADJUDICATION' }]);
    expect(found.map((d) => [d.regId, d.expected, d.got])).to.deep.equal([
      ['r1', 'REFUSED', 'APPROVED'],
      ['r2', 'APPROVED', 'REFUSED'],
    ]);
  });
});

describe('demo verdict', () => {
  const outcomes = (pending: number) => ({ APPROVED: 0, IN_ADJUDICATION: 0, REJECTED: 0, PENDING: pending });
  const d = (got: 'REFUSED' | 'IN_ADJUDICATION') => ({ regId: 'r', kind: 'clean' as const, expected: 'APPROVED' as const, got });

  it('refused before unexpected before pending; 0 only when everything is as expected', () => {
    expect(demoVerdict({ enrollments: 5, surprises: [d('REFUSED'), d('IN_ADJUDICATION')], outcomes: outcomes(2) }).exitCode).to.equal(DEMO_EXIT.refused);
    expect(demoVerdict({ enrollments: 5, surprises: [d('IN_ADJUDICATION')], outcomes: outcomes(2) }).exitCode).to.equal(DEMO_EXIT.unexpected);
    expect(demoVerdict({ enrollments: 5, surprises: [], outcomes: outcomes(2) })).to.deep.equal({ exitCode: 4, says: '2 of 5 packet(s) still pending when the wait ran out (pass a longer --wait)' });
    expect(demoVerdict({ enrollments: 5, surprises: [], outcomes: outcomes(0) }).exitCode).to.equal(0);
    expect(demoVerdict({ enrollments: 5, surprises: [d('REFUSED')], outcomes: outcomes(0) }).says).to.equal('1 of 5 packet(s) refused at upload that should have been taken');
  });
});

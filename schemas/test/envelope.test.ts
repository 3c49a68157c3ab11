import { expect } from 'chai';
import { canonicalJson, computeHash, parseStreamId, prepareEnvelope, verifyEnvelope, type EventEnvelope } from '../src/index.js';
import { samples } from './samples.js';

describe('envelope', () => {
  it('canonical JSON follows RFC 8785 (sorted keys, ES number form, minimal escapes)', () => {
    // Examples from RFC 8785 §3.2.2 / §3.2.3.
    expect(canonicalJson({ b: 1, a: [true, null, 'x'] })).to.equal('{"a":[true,null,"x"],"b":1}');
    // eslint-disable-next-line no-loss-of-precision -- RFC 8785's own input: it is the rounding under test
    expect(canonicalJson({ numbers: [333333333.33333329, 1e30, 4.5, 0.002, 1e-27] })).to.equal(
      '{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}',
    );
    expect(canonicalJson({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '1': 'One' })).to.equal(
      '{"\\r":"Carriage Return","1":"One","€":"Euro Sign"}',
    );
  });

  it('hashes the envelope without hash and position, so the position can be assigned later', () => {
    const e = prepareEnvelope({ type: 'PacketValidated', data: samples.PacketValidated }, {
      streamId: 'enrollment-R-1',
      revision: 0,
      recordedAt: '2026-11-21T00:00:00.000Z',
    });
    const stored: EventEnvelope = { ...e, position: 42 };
    expect(computeHash(stored)).to.equal(e.hash);
    expect(() => verifyEnvelope(stored)).not.to.throw();
    expect(() => verifyEnvelope({ ...stored, revision: 1 })).to.throw(/position 42/);
    expect(() => verifyEnvelope({ ...stored, data: { ...stored.data, regId: 'R-2' } })).to.throw(/does not match/);
    expect(() => verifyEnvelope({ ...stored, metadata: { ...stored.metadata, actor: { id: 'x', role: 'y' } } })).to.throw();
  });

  it('parses stream ids as <category>-<id>, the id may contain dashes', () => {
    expect(parseStreamId('enrollment-10042-2026-11')).to.deep.equal({ streamId: 'enrollment-10042-2026-11', category: 'enrollment', id: '10042-2026-11' });
    for (const bad of ['enrollment', 'enrollment-', '-x', 'Enrollment-1', 'nope-1', 'identity-a b', 42]) {
      expect(() => parseStreamId(bad), String(bad)).to.throw(/stream id/);
    }
  });
});

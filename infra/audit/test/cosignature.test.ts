import { generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'chai';
import { isRegistoError } from '@registo/schemas';
import { cosignedMessage, parseWitnessKey, verifyCosignature, witnessKeyId, witnessVerifierKey } from '../src/index.js';

describe('witness cosignatures (C2SP cosignature/v1, Ed25519)', () => {
  const keys = generateKeyPairSync('ed25519');
  const pub = Buffer.from(keys.publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const name = 'witness.example/w';
  const body = 'registo.example/audit\n5\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n';
  const line = (t: number, message = cosignedMessage(body, t)): string => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(t));
    return `— ${name} ${Buffer.concat([witnessKeyId(name, pub), ts, sign(null, message, keys.privateKey)]).toString('base64')}`;
  };

  it('signs over "cosignature/v1", the time line and the checkpoint body', () => {
    expect(cosignedMessage(body, 1679315147).toString()).to.equal(`cosignature/v1\ntime 1679315147\n${body}`);
  });

  it('round-trips a verifier key and accepts a good cosignature', () => {
    const w = parseWitnessKey(witnessVerifierKey(name, pub));
    expect(w.publicKey.equals(pub)).to.equal(true);
    const c = verifyCosignature(line(1700000000), body, [w], 1700000100);
    expect(c).to.include({ witness: name, timestamp: 1700000000, keyId: witnessKeyId(name, pub).toString('hex') });
  });

  it('refuses wrong key IDs, other bodies, future timestamps and malformed lines', () => {
    expect(() => parseWitnessKey(`${name}+00000000+${Buffer.concat([Buffer.from([4]), pub]).toString('base64')}`)).to.throw(/key ID/);
    expect(() => parseWitnessKey(`${name}+abcd`)).to.throw(/name/);
    const w = parseWitnessKey(witnessVerifierKey(name, pub));
    const refused = (l: string, now = 1700000100): boolean => {
      try {
        verifyCosignature(l, body, [w], now);
        return false;
      } catch (e) {
        return isRegistoError(e, 'AUDIT_COSIGNATURE_INVALID');
      }
    };
    expect(refused(line(1700000000, cosignedMessage(body.replace('\n5\n', '\n6\n'), 1700000000)))).to.equal(true);
    expect(refused(line(1800000000))).to.equal(true);
    expect(refused('— witness.example/w AAAA')).to.equal(true);
    expect(refused('not a line')).to.equal(true);
  });
});

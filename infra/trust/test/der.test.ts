import { expect } from 'chai';
import { RegistoError } from '@registo/schemas';
import { derOid, derSequence, derTlv, oid, readDer } from '../src/index.js';

function refusal(buf: Buffer): RegistoError {
  try {
    readDer(buf);
  } catch (error) {
    expect(error).to.be.instanceOf(RegistoError);
    return error as RegistoError;
  }
  expect.fail(`readDer accepted ${buf.toString('hex')}`);
}

describe('readDer', () => {
  it('reads short and long definite lengths', () => {
    const small = derSequence(Buffer.from([1, 2, 3]));
    expect(readDer(small)).to.deep.equal({ tag: 0x30, start: 0, contentStart: 2, end: 5 });
    const large = derTlv(0x04, Buffer.alloc(300));
    expect(readDer(large)).to.deep.equal({ tag: 0x04, start: 0, contentStart: 4, end: 304 });
  });

  it('refuses what is not DER with REQUEST_INVALID', () => {
    for (const hex of [
      '30', // no length
      '3005010203', // runs past the end
      '3080', // indefinite length
      '308103010203', // long form for a short length
      '30820003010203', // leading zero length byte
      '1f0100', // multi-byte tag
    ]) {
      const error = refusal(Buffer.from(hex, 'hex'));
      expect(error.code, hex).to.equal('REQUEST_INVALID');
      expect(error.message, hex).to.match(/^not DER: /);
    }
  });
});

describe('OBJECT IDENTIFIER encoding', () => {
  it('oid is derOid, kept per string', () => {
    for (const dotted of ['1.2.840.10045.4.3.2', '2.5.29.31', '2.16.840.1.101.3.4.2.1', '2.999.3']) {
      expect(oid(dotted).toString('hex'), dotted).to.equal(derOid(dotted).toString('hex'));
      expect(oid(dotted)).to.equal(oid(dotted));
    }
    expect(derOid('1.2.840.10045.4.3.2').toString('hex')).to.equal('06082a8648ce3d040302');
  });
});

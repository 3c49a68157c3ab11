import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { decodeBase64Strict, readPemStrict } from '../src/index.js';

const pem = (der: Buffer, label = 'CERTIFICATE REQUEST') => `-----BEGIN ${label}-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;

describe('the strict base64 and PEM reader', () => {
  it('decodes exactly what Node encodes, in both alphabets, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(decodeBase64Strict(b.toString('base64'))?.equals(b)).to.equal(true);
        expect(decodeBase64Strict(b.toString('base64url'), { urlSafe: true })?.equals(b)).to.equal(true);
      }),
    );
  });

  it('refuses what Node\'s decoder lets through: data after the padding, characters outside the alphabet, set padding bits, missing padding', () => {
    const text = Buffer.from('holder key').toString('base64'); // aG9sZGVyIGtleQ==
    expect(Buffer.from(`${text}garbage`, 'base64').subarray(0, 10).toString()).to.equal('holder key'); // what was accepted before
    for (const bad of [`${text}garbage`, `${text}AAAA`, `${text}!!`, `aG9s ZGVy`, 'aG9sZGVyIGtleR==', 'aG9sZGVyIGtleQ', 'aG9sZGVyIGtleQ=', 'A', 'aG9s\u0000ZGVy', 'aG9s-ZGVy']) {
      expect(decodeBase64Strict(bad), bad).to.equal(null);
    }
    expect(decodeBase64Strict('aG9sZGVyIGtleQ', { padding: 'optional' })?.toString()).to.equal('holder key');
    expect(decodeBase64Strict('a+b/', { urlSafe: true })).to.equal(null);
  });

  it('reads one PEM block of the wanted label and nothing else', () => {
    const der = randomBytes(150);
    expect(readPemStrict(pem(der), 'CERTIFICATE REQUEST')?.equals(der)).to.equal(true);
    expect(readPemStrict(`\n  ${pem(der).replace(/\n/g, '\r\n')}  `, ['NEW CERTIFICATE REQUEST', 'CERTIFICATE REQUEST'])?.equals(der)).to.equal(true);
    const refused = {
      'another label': pem(der, 'CERTIFICATE'),
      'text after the block': `${pem(der)}trailing`,
      'text before the block': `junk\n${pem(der)}`,
      'two blocks': `${pem(der)}${pem(der)}`,
      'mismatched END': pem(der).replace('END CERTIFICATE REQUEST', 'END CERTIFICATE'),
      'garbage after the padding': pem(der).replace(/=*\n-----END/, '==AAAA\n-----END'),
      'a line over 64 characters': `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----`,
      'an empty line inside': pem(der).replace('\n', '\n\n'),
      'empty body': '-----BEGIN CERTIFICATE REQUEST-----\n\n-----END CERTIFICATE REQUEST-----',
    };
    for (const [why, text] of Object.entries(refused)) expect(readPemStrict(text, 'CERTIFICATE REQUEST'), why).to.equal(null);
  });
});

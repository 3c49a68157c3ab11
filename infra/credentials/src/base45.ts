import { RegistoError } from '@registo/schemas';

/** RFC 9285 Base45: the alphanumeric mode alphabet of QR codes, so a QR of it stays compact. */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

export function base45Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i]! * 256 + bytes[i + 1]!;
    const c = n % 45;
    n = (n - c) / 45;
    const d = n % 45;
    const e = (n - d) / 45;
    out += ALPHABET[c]! + ALPHABET[d]! + ALPHABET[e]!;
  }
  if (bytes.length % 2 === 1) {
    const n = bytes[bytes.length - 1]!;
    out += ALPHABET[n % 45]! + ALPHABET[Math.floor(n / 45)]!;
  }
  return out;
}

export function base45Decode(text: string): Buffer {
  const values: number[] = [];
  for (const ch of text) {
    const v = VALUE.get(ch);
    if (v === undefined) throw new RegistoError('CREDENTIAL_QR_INVALID', `not Base45: character ${JSON.stringify(ch)}`);
    values.push(v);
  }
  if (values.length % 3 === 1) throw new RegistoError('CREDENTIAL_QR_INVALID', 'not Base45: a dangling character');
  const out: number[] = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i]! + values[i + 1]! * 45 + values[i + 2]! * 45 * 45;
      if (n > 0xffff) throw new RegistoError('CREDENTIAL_QR_INVALID', 'not Base45: a triplet above 65535');
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i]! + values[i + 1]! * 45;
      if (n > 0xff) throw new RegistoError('CREDENTIAL_QR_INVALID', 'not Base45: a pair above 255');
      out.push(n);
    }
  }
  return Buffer.from(out);
}

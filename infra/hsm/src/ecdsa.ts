import { createPublicKey } from 'node:crypto';
import { RegistoError } from '@registo/schemas';

/** DER of the named curve P-256 (prime256v1, 1.2.840.10045.3.1.7): CKA_EC_PARAMS of our keys. */
export const P256_PARAMS_DER = Buffer.from('06082a8648ce3d030107', 'hex');
/** Length of one coordinate / scalar of P-256. */
const P256_SIZE = 32;

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function derInteger(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  let body = unsigned.subarray(i);
  // A set high bit would read as negative: prefix a zero byte.
  if ((body[0]! & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/**
 * PKCS#11 (and JOSE) ECDSA signatures are r‖s, each left-padded to the curve size; X.509, OCSP,
 * CMS and `crypto.verify` want `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` in DER.
 */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new RegistoError('HSM_UNAVAILABLE', `an ECDSA signature of ${raw.length} bytes is not r‖s`);
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** The inverse of `ecdsaRawToDer`, for a curve of `size`-byte scalars (32 for P-256). */
export function ecdsaDerToRaw(der: Buffer, size = P256_SIZE): Buffer {
  const fail = (): never => {
    throw new RegistoError('REQUEST_INVALID', 'not a DER-encoded ECDSA signature');
  };
  let p = 0;
  const readLength = (): number => {
    const first = der[p++] ?? fail();
    if (first < 0x80) return first;
    const bytes = first & 0x7f;
    if (bytes === 0 || bytes > 2) fail();
    let n = 0;
    for (let k = 0; k < bytes; k++) n = (n << 8) | (der[p++] ?? fail());
    return n;
  };
  if (der[p++] !== 0x30) fail();
  const seqLength = readLength();
  if (p + seqLength !== der.length) fail();
  const out = Buffer.alloc(size * 2);
  for (let k = 0; k < 2; k++) {
    if (der[p++] !== 0x02) fail();
    const length = readLength();
    let value = der.subarray(p, p + length);
    if (value.length !== length) fail();
    p += length;
    while (value.length > 0 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) fail();
    value.copy(out, k * size + size - value.length);
  }
  if (p !== der.length) fail();
  return out;
}

/**
 * SubjectPublicKeyInfo (DER) of a P-256 public key given as its uncompressed point, either bare
 * (`04‖X‖Y`, 65 bytes) or as PKCS#11's CKA_EC_POINT, a DER OCTET STRING around it.
 */
export function p256SpkiFromPoint(point: Buffer): Buffer {
  let bare = point;
  if (point.length === 2 * P256_SIZE + 3 && point[0] === 0x04 && point[1] === 2 * P256_SIZE + 1) bare = point.subarray(2);
  if (bare.length !== 2 * P256_SIZE + 1 || bare[0] !== 0x04) {
    throw new RegistoError('CONFIG_INVALID', `an EC public key point of ${point.length} bytes is not an uncompressed P-256 point`);
  }
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: bare.subarray(1, 1 + P256_SIZE).toString('base64url'), y: bare.subarray(1 + P256_SIZE).toString('base64url') },
    format: 'jwk',
  }).export({ type: 'spki', format: 'der' });
}

import { deflateSync, inflateSync } from 'node:zlib';
import { RegistoError } from '@registo/schemas';
import { base45Decode, base45Encode } from './base45.js';

/**
 * The QR payload of a credential: `RGV1:` + Base45(zlib(compact JWT)). Like the EU digital COVID
 * certificate's `HC1:`, Base45 fits the QR alphanumeric mode and zlib shrinks the JWT's base64url.
 */
export const QR_PREFIX = 'RGV1:';
/** Inflated JWTs longer than this are refused: a QR code cannot hold one, a zip bomb could. */
const MAX_INFLATED = 16 * 1024;

export function toQrPayload(compactJwt: string): string {
  return QR_PREFIX + base45Encode(deflateSync(Buffer.from(compactJwt, 'utf8'), { level: 9 }));
}

export function fromQrPayload(payload: string): string {
  if (!payload.startsWith(QR_PREFIX)) throw new RegistoError('CREDENTIAL_QR_INVALID', `a QR payload starts with ${QR_PREFIX}`);
  const packed = base45Decode(payload.slice(QR_PREFIX.length));
  let jwt: Buffer;
  try {
    jwt = inflateSync(packed, { maxOutputLength: MAX_INFLATED });
  } catch (e) {
    throw new RegistoError('CREDENTIAL_QR_INVALID', `the QR payload does not inflate: ${(e as Error).message}`);
  }
  return jwt.toString('utf8');
}

/** A compact JWT, or a QR payload holding one: the JWT. */
export function credentialFromInput(input: string): string {
  const text = input.trim();
  return text.startsWith(QR_PREFIX) ? fromQrPayload(text) : text;
}

import { createHmac } from 'node:crypto';
import { type MacKeyLike, asMacKey } from './mac-key.js';

const normalise = (value: string): string => value.normalize('NFKC').replace(/\s+/g, '').toUpperCase();

/**
 * A searchable stand-in for an identifier that must stay sealed (the civil-registry number):
 * HMAC-SHA256 under a platform key. Equal numbers give equal indexes; without the key the
 * index reveals nothing and cannot be reversed by trying all numbers.
 */
export function blindIndex(value: string, key: Buffer): string {
  return createHmac('sha256', key).update(normalise(value)).digest('hex');
}

/** `blindIndex` under a key that may live in the token (qualified mode): the same value for the same key. */
export async function blindIndexWith(value: string, key: MacKeyLike): Promise<string> {
  if (Buffer.isBuffer(key)) return blindIndex(value, key);
  return (await asMacKey(key).mac(Buffer.from(normalise(value), 'utf8'))).toString('hex');
}

import { createHmac } from 'node:crypto';

/**
 * A searchable stand-in for an identifier that must stay sealed (the civil-registry number):
 * HMAC-SHA256 under a platform key. Equal numbers give equal indexes; without the key the
 * index reveals nothing and cannot be reversed by trying all numbers.
 */
export function blindIndex(value: string, key: Buffer): string {
  const normalised = value.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
  return createHmac('sha256', key).update(normalised).digest('hex');
}

import { gunzipSync, gzipSync } from 'node:zlib';
import { RegistoError } from '@registo/schemas';

/*
 * W3C Bitstring Status List v1.0. Each VC has one index in two lists of the same number: the
 * `revocation` list (bit set: revoked, for good) and the `suspension` list (bit set: on hold).
 * A list is 131,072 bits (16 KiB), the specification's minimum for group privacy.
 */
export const STATUS_LIST_SIZE = 131_072;
export const STATUS_PURPOSES = ['revocation', 'suspension'] as const;
export type StatusPurpose = (typeof STATUS_PURPOSES)[number];

// An odd multiplier is a bijection modulo 2^17: consecutive issuances land far apart in the list
// instead of side by side. It scatters, it does not hide: the order can be recomputed.
const SCATTER = 0x9e3779b1;

/** Where the `sequence`-th allocated credential sits: list number (from 1) and index in it. */
export function statusPositionOf(sequence: number): { statusListId: string; statusListIndex: number } {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RegistoError('REQUEST_INVALID', `bad status-list sequence ${sequence}`);
  const list = Math.floor(sequence / STATUS_LIST_SIZE) + 1;
  const slot = sequence % STATUS_LIST_SIZE;
  const index = Number((BigInt(slot) * BigInt(SCATTER)) % BigInt(STATUS_LIST_SIZE));
  return { statusListId: String(list), statusListIndex: index };
}

/** The public id of one purpose's list, as it appears in URLs: `<list>-<purpose>`. */
export const statusListPublicId = (statusListId: string, purpose: StatusPurpose): string => `${statusListId}-${purpose}`;

export function parseStatusListPublicId(id: string): { statusListId: string; purpose: StatusPurpose } | null {
  const m = /^([1-9][0-9]{0,8})-(revocation|suspension)$/.exec(id);
  return m ? { statusListId: m[1]!, purpose: m[2] as StatusPurpose } : null;
}

export const statusListUrl = (publicUrl: string, statusListId: string, purpose: StatusPurpose): string =>
  `${publicUrl.replace(/\/$/, '')}/v1/status-lists/${statusListPublicId(statusListId, purpose)}`;

export interface BitstringStatusListEntry {
  id: string;
  type: 'BitstringStatusListEntry';
  statusPurpose: StatusPurpose;
  statusListIndex: string;
  statusListCredential: string;
}

export function statusEntries(publicUrl: string, statusListId: string, statusListIndex: number): BitstringStatusListEntry[] {
  return STATUS_PURPOSES.map((purpose) => {
    const url = statusListUrl(publicUrl, statusListId, purpose);
    return { id: `${url}#${statusListIndex}`, type: 'BitstringStatusListEntry', statusPurpose: purpose, statusListIndex: String(statusListIndex), statusListCredential: url };
  });
}

/** `encodedList`: multibase base64url ('u', no padding) of the GZIP of the bitstring; index 0 is the first byte's high bit. */
export function encodeStatusList(setIndices: Iterable<number>, size = STATUS_LIST_SIZE): string {
  const bits = Buffer.alloc(Math.ceil(size / 8));
  for (const i of setIndices) {
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new RegistoError('REQUEST_INVALID', `status-list index ${i} is outside 0..${size - 1}`);
    bits[i >> 3]! |= 0x80 >> (i & 7);
  }
  return `u${gzipSync(bits).toString('base64url')}`;
}

export function decodeStatusList(encoded: string): Buffer {
  if (!encoded.startsWith('u')) throw new RegistoError('CREDENTIAL_MALFORMED', 'encodedList is not multibase base64url');
  try {
    return gunzipSync(Buffer.from(encoded.slice(1), 'base64url'), { maxOutputLength: 16 * STATUS_LIST_SIZE });
  } catch (e) {
    throw new RegistoError('CREDENTIAL_MALFORMED', `encodedList does not decompress: ${(e as Error).message}`);
  }
}

export function statusBit(bits: Buffer, index: number): boolean {
  if (index < 0 || index >= bits.length * 8) throw new RegistoError('CREDENTIAL_MALFORMED', `status-list index ${index} is outside the list`);
  return (bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

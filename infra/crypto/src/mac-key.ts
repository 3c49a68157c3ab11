import { createHmac } from 'node:crypto';

/**
 * A secret HMAC-SHA256 key the platform computes with but never needs to see: the blind-index key
 * (civil-registry numbers searchable without storing them) and the UIN key (each enrollment's
 * UIN digits). `SoftwareMacKey` holds the bytes (development); `Pkcs11MacKey` (src/hsm) keeps the
 * key inside the token and computes with CKM_SHA256_HMAC. Both give the same bytes for the same key.
 */
export interface MacKey {
  readonly kind: 'software' | 'pkcs11';
  /** Where the key is, for logs and /readyz (`software`, `pkcs11:<token>/<label>`). */
  readonly keyId: string;
  /** HMAC-SHA256(key, data): 32 bytes. */
  mac(data: Buffer): Promise<Buffer>;
}

export class SoftwareMacKey implements MacKey {
  readonly kind = 'software' as const;

  constructor(
    private readonly key: Buffer,
    readonly keyId = 'software',
  ) {}

  async mac(data: Buffer): Promise<Buffer> {
    return createHmac('sha256', this.key).update(data).digest();
  }
}

/** A key given as bytes (the development key file) or as a MacKey (a token's). */
export type MacKeyLike = Buffer | MacKey;

export function asMacKey(key: MacKeyLike): MacKey {
  return Buffer.isBuffer(key) ? new SoftwareMacKey(key) : key;
}

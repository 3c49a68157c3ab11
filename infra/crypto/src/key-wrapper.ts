import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RegistoError } from '@registo/schemas';

/**
 * Wraps per-subject data keys under a key-encryption key (DESIGN §4). The software
 * implementation keeps the KEK in memory and says so (`kind`); the HSM implementation
 * (PKCS#11, trust-services issue) keeps it in the token and never lets it out.
 */
export interface KeyWrapper {
  readonly kind: 'software' | 'pkcs11';
  /** Identifies the KEK, so that a rotated KEK can still unwrap what the old one wrapped. */
  readonly kekId: string;
  wrap(dataKey: Buffer): Promise<Buffer>;
  unwrap(wrapped: Buffer): Promise<Buffer>;
}

/** AES-256 key wrap (RFC 3394) with a KEK held in memory: development and tests only. */
export class SoftwareKeyWrapper implements KeyWrapper {
  readonly kind = 'software' as const;
  // RFC 3394's default initial value.
  private static readonly IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

  constructor(
    private readonly kek: Buffer,
    readonly kekId: string,
    /** Where the KEK came from (the key file), named when a data key does not unwrap. */
    private readonly source?: string,
  ) {
    if (kek.length !== 32) throw new RegistoError('CONFIG_INVALID', 'the key-encryption key must be 32 bytes (AES-256)');
  }

  static generate(kekId = 'software-kek-1'): SoftwareKeyWrapper {
    return new SoftwareKeyWrapper(randomBytes(32), kekId);
  }

  async wrap(dataKey: Buffer): Promise<Buffer> {
    const c = createCipheriv('id-aes256-wrap', this.kek, SoftwareKeyWrapper.IV);
    return Buffer.concat([c.update(dataKey), c.final()]);
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    try {
      // RFC 3394 output is n+1 64-bit blocks, n >= 2; OpenSSL "unwraps" an empty input to an empty key.
      if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new Error('not an RFC 3394 wrapped key');
      const d = createDecipheriv('id-aes256-wrap', this.kek, SoftwareKeyWrapper.IV);
      return Buffer.concat([d.update(wrapped), d.final()]);
    } catch {
      const from = this.source ? ` of ${this.source}: was the data sealed with another key file? (REGISTO_KEYS_FILE, README "Starting over")` : '';
      throw new RegistoError('SUBJECT_KEY_UNAVAILABLE', `a data key does not unwrap under KEK ${this.kekId}${from}`, { kekId: this.kekId, ...(this.source && { source: this.source }) });
    }
  }
}

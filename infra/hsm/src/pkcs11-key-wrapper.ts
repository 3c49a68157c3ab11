import type { SecretKey, SessionObject } from 'graphene-pk11';
import { RegistoError } from '@registo/schemas';
import type { KeyWrapper } from '@registo/crypto';
import { graphene } from './graphene.js';
import { isTokenUnavailable, type Pkcs11Token } from './pkcs11-token.js';

/**
 * `KeyWrapper` whose key-encryption key is an AES-256 key inside a PKCS#11 token.
 *
 * Mechanism: CKM_AES_KEY_WRAP, i.e. AES key wrap per RFC 3394 with its default initial value —
 * the same bytes `SoftwareKeyWrapper` produces under the same KEK (40 bytes for a 32-byte data key,
 * integrity-checked on unwrap). PKCS#11 wraps and unwraps key objects, not bytes, so the data key
 * passes through a short-lived session object (CKA_TOKEN false, destroyed at once): `wrap` creates
 * it from the bytes and calls C_WrapKey; `unwrap` calls C_UnwrapKey into one and reads its value.
 * The KEK itself never leaves the token.
 */
export class Pkcs11KeyWrapper implements KeyWrapper {
  readonly kind = 'pkcs11' as const;

  private constructor(
    private readonly token: Pkcs11Token,
    private readonly kek: SecretKey,
    readonly kekLabel: string,
    readonly kekId: string,
    private readonly ownsToken: boolean,
  ) {}

  /**
   * The wrapper of the AES key labelled `kekLabel` on `token`; it never creates one (the key
   * ceremony does: `token.ensureAesKey`). `kekId` defaults to `pkcs11:<token label>/<key label>`.
   */
  static async open(token: Pkcs11Token, kekLabel: string, options: { kekId?: string; ownsToken?: boolean } = {}): Promise<Pkcs11KeyWrapper> {
    const key = await token.findAesKey(kekLabel);
    const where = { module: token.modulePath, tokenLabel: token.tokenLabel, keyLabel: kekLabel };
    if (!key) {
      throw new RegistoError('CONFIG_INVALID', `no key-encryption key labelled "${kekLabel}" on PKCS#11 token "${token.tokenLabel}" (module ${token.modulePath})`, where);
    }
    const usage = token.use(() => key.key.getAttribute({ wrap: null, unwrap: null }));
    if (!usage.wrap || !usage.unwrap) {
      throw new RegistoError('CONFIG_INVALID', `key "${kekLabel}" on PKCS#11 token "${token.tokenLabel}" may not wrap and unwrap keys`, where);
    }
    return new Pkcs11KeyWrapper(token, key.key, kekLabel, options.kekId ?? `pkcs11:${token.tokenLabel}/${kekLabel}`, options.ownsToken ?? false);
  }

  private unavailable(error: unknown): RegistoError {
    return new RegistoError('HSM_UNAVAILABLE', `PKCS#11 token "${this.token.tokenLabel}" (KEK ${this.kekId}): ${(error as Error).message}`, { kekId: this.kekId });
  }

  private static destroy(object: SessionObject | undefined): void {
    try {
      object?.destroy();
    } catch {
      // a session object disappears with its session anyway
    }
  }

  async wrap(dataKey: Buffer): Promise<Buffer> {
    if (![16, 24, 32].includes(dataKey.length)) {
      throw new RegistoError('SUBJECT_KEY_UNAVAILABLE', `a data key of ${dataKey.length} bytes cannot be wrapped (AES keys are 16, 24 or 32 bytes)`, { kekId: this.kekId });
    }
    const { MechanismEnum } = graphene();
    return this.token.use((session) => {
      let temporary: SessionObject | undefined;
      try {
        temporary = session.create({ ...temporaryAesKey(), value: dataKey });
        return session.wrapKey(MechanismEnum.AES_KEY_WRAP, this.kek, temporary.toType<SecretKey>());
      } catch (error) {
        throw isTokenUnavailable(error) ? this.unavailable(error) : error;
      } finally {
        Pkcs11KeyWrapper.destroy(temporary);
      }
    });
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    const { MechanismEnum } = graphene();
    return this.token.use((session) => {
      let temporary: SessionObject | undefined;
      try {
        temporary = session.unwrapKey(MechanismEnum.AES_KEY_WRAP, this.kek, wrapped, temporaryAesKey());
        const value = temporary.getAttribute({ value: null }).value;
        if (!value) throw new Error('the unwrapped key has no value');
        return Buffer.from(value);
      } catch (error) {
        if (isTokenUnavailable(error)) throw this.unavailable(error);
        // Integrity check failed (altered, truncated, or wrapped under another KEK).
        throw new RegistoError('SUBJECT_KEY_UNAVAILABLE', `a data key does not unwrap under KEK ${this.kekId}`, { kekId: this.kekId });
      } finally {
        Pkcs11KeyWrapper.destroy(temporary);
      }
    });
  }

  async close(): Promise<void> {
    if (this.ownsToken) await this.token.close();
  }
}

/** The data key while it is in the token: a session object (gone with the session), readable so it can be wrapped or returned. */
function temporaryAesKey() {
  const { KeyType, ObjectClass } = graphene();
  return { class: ObjectClass.SECRET_KEY, keyType: KeyType.AES, token: false, private: true, sensitive: false, extractable: true };
}

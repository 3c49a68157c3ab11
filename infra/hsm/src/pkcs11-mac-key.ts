import type { SecretKey } from 'graphene-pk11';
import { RegistoError } from '@registo/schemas';
import type { MacKey } from '@registo/crypto';
import { graphene } from './graphene.js';
import type { Pkcs11Token } from './pkcs11-token.js';

/**
 * `MacKey` whose key is a generic secret inside a PKCS#11 token: HMAC-SHA256 with
 * CKM_SHA256_HMAC, the key never leaves the token. Same bytes as `SoftwareMacKey` under the same
 * key (RFC 4231 known answers in the tests).
 */
export class Pkcs11MacKey implements MacKey {
  readonly kind = 'pkcs11' as const;

  private constructor(
    private readonly token: Pkcs11Token,
    private readonly key: SecretKey,
    readonly keyId: string,
  ) {}

  /** The key labelled `label` (made by the key ceremony: `token.ensureHmacKey`); never creates one. */
  static async open(token: Pkcs11Token, label: string): Promise<Pkcs11MacKey> {
    const found = await token.findHmacKey(label);
    if (!found) {
      throw new RegistoError('CONFIG_INVALID', `no HMAC key labelled "${label}" on PKCS#11 token "${token.tokenLabel}" (module ${token.modulePath}); run \`registo keys init\` first`, {
        module: token.modulePath,
        tokenLabel: token.tokenLabel,
        keyLabel: label,
      });
    }
    const usage = token.use(() => found.key.getAttribute({ sign: null }));
    if (!usage.sign) throw new RegistoError('CONFIG_INVALID', `key "${label}" on PKCS#11 token "${token.tokenLabel}" may not compute MACs (CKA_SIGN false)`, { keyLabel: label });
    return new Pkcs11MacKey(token, found.key, `pkcs11:${token.tokenLabel}/${label}`);
  }

  async mac(data: Buffer): Promise<Buffer> {
    return this.token.use((s) => s.createSign(graphene().MechanismEnum.SHA256_HMAC, this.key).once(data));
  }
}

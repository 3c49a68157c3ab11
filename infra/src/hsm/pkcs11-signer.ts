import { createHash } from 'node:crypto';
import type { PrivateKey } from 'graphene-pk11';
import { RegistoError } from '@registo/schemas';
import { ecdsaRawToDer } from './ecdsa.js';
import { graphene } from './graphene.js';
import type { Pkcs11Token } from './pkcs11-token.js';
import type { Signer } from './signer.js';

/**
 * ECDSA P-256 with a private key that lives in a PKCS#11 token. SHA-256 is computed here and the
 * token signs the digest with CKM_ECDSA (SoftHSM2 2.6 offers no CKM_ECDSA_SHA256; hashing in the
 * token would also send the whole message through it). The token answers r‖s; `sign` returns DER.
 */
export class Pkcs11Signer implements Signer {
  readonly mode = 'qualified' as const;

  private constructor(
    private readonly token: Pkcs11Token,
    readonly keyLabel: string,
    private readonly privateKey: PrivateKey,
    private readonly spki: Buffer,
    private readonly ownsToken: boolean,
  ) {}

  /**
   * The signer of the key pair labelled `keyLabel` on `token`; it never creates one (the key
   * ceremony does: `token.ensureEcKey`). `ownsToken`: `close()` also closes the token.
   */
  static async open(token: Pkcs11Token, keyLabel: string, options: { ownsToken?: boolean } = {}): Promise<Pkcs11Signer> {
    const key = await token.findEcKey(keyLabel);
    if (!key) {
      throw new RegistoError(
        'CONFIG_INVALID',
        `no signing key labelled "${keyLabel}" on PKCS#11 token "${token.tokenLabel}" (module ${token.modulePath}); create it with the key ceremony first`,
        { module: token.modulePath, tokenLabel: token.tokenLabel, keyLabel },
      );
    }
    return new Pkcs11Signer(token, keyLabel, key.privateKey, key.spki, options.ownsToken ?? false);
  }

  async publicKeySpki(): Promise<Buffer> {
    return Buffer.from(this.spki);
  }

  async signRaw(data: Buffer): Promise<Buffer> {
    const digest = createHash('sha256').update(data).digest();
    return this.token.use((session) => session.createSign(graphene().MechanismEnum.ECDSA, this.privateKey).once(digest));
  }

  async sign(data: Buffer): Promise<Buffer> {
    return ecdsaRawToDer(await this.signRaw(data));
  }

  async close(): Promise<void> {
    if (this.ownsToken) await this.token.close();
  }
}

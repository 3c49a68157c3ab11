import { createHash } from 'node:crypto';
import type { PrivateKey, Session } from 'graphene-pk11';
import { RegistoError } from '@registo/schemas';
import { ecdsaRawToDer } from './ecdsa.js';
import { graphene } from './graphene.js';
import { type Pkcs11Token, isTokenUnavailable } from './pkcs11-token.js';
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

  /**
   * A signer of the same key that signs on `sessions` sessions of their own at once, each call
   * running asynchronously on a libuv worker thread: what a single session allows is one signature
   * at a time on the JavaScript thread. `close()` closes those sessions (not the token).
   */
  parallel(sessions: number): Signer {
    return new Pkcs11ParallelSigner(this.token, this.keyLabel, this.privateKey, this.spki, sessions);
  }

  async close(): Promise<void> {
    if (this.ownsToken) await this.token.close();
  }
}

/** See `Pkcs11Signer.parallel`. Calls wait for a free session; each session runs one C_Sign at a time. */
class Pkcs11ParallelSigner implements Signer {
  readonly mode = 'qualified' as const;
  private readonly free: Session[] = [];
  private readonly waiting: ((session: Session) => void)[] = [];
  private readonly all: Session[] = [];
  private closed = false;

  constructor(
    private readonly token: Pkcs11Token,
    readonly keyLabel: string,
    private readonly privateKey: PrivateKey,
    private readonly spki: Buffer,
    sessions: number,
  ) {
    for (let i = 0; i < Math.max(1, sessions); i++) this.all.push(token.openSession());
    this.free.push(...this.all);
  }

  async publicKeySpki(): Promise<Buffer> {
    return Buffer.from(this.spki);
  }

  private acquire(): Promise<Session> {
    if (this.closed || !this.token.isOpen) return Promise.reject(new RegistoError('HSM_UNAVAILABLE', `signer ${this.keyLabel} is closed`, { keyLabel: this.keyLabel }));
    const session = this.free.pop();
    return session ? Promise.resolve(session) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(session: Session): void {
    const next = this.waiting.shift();
    if (next) next(session);
    else this.free.push(session);
  }

  async signRaw(data: Buffer): Promise<Buffer> {
    const digest = createHash('sha256').update(data).digest();
    const session = await this.acquire();
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        try {
          session.createSign(graphene().MechanismEnum.ECDSA, this.privateKey).once(digest, (error, signature) => (error ? reject(error) : resolve(signature)));
        } catch (error) {
          reject(error);
        }
      });
    } catch (error) {
      if (isTokenUnavailable(error)) {
        throw new RegistoError('HSM_UNAVAILABLE', `PKCS#11 token "${this.token.tokenLabel}": ${(error as Error).message}`, { tokenLabel: this.token.tokenLabel });
      }
      throw error;
    } finally {
      this.release(session);
    }
  }

  async sign(data: Buffer): Promise<Buffer> {
    return ecdsaRawToDer(await this.signRaw(data));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const session of this.all) this.token.closeSession(session);
    for (const waiter of this.waiting.splice(0)) waiter(this.all[0]!); // they fail on the closed session
  }
}

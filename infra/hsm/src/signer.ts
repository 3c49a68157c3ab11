import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { RegistoError } from '@registo/schemas';

/**
 * How trustworthy a signing key is, chosen at start-up and shown on every artifact (DESIGN §5):
 * `qualified` — the key lives only inside a PKCS#11 token, there is no software fallback;
 * `non_qualified` — a software key for development, and everything it signs says so.
 */
export type SignerMode = 'qualified' | 'non_qualified';


/**
 * The signing port of the trust services: ECDSA P-256 over SHA-256. Certificates, CRLs, OCSP
 * responses, timestamps, credentials and checkpoints are all signed through it.
 */
export interface Signer {
  readonly mode: SignerMode;
  /** The key's label (CKA_LABEL on the token; a name for software keys). */
  readonly keyLabel: string;
  /** The public key as a DER SubjectPublicKeyInfo. */
  publicKeySpki(): Promise<Buffer>;
  /** ECDSA P-256 over SHA-256(data), DER-encoded (X.509, OCSP, CMS). */
  sign(data: Buffer): Promise<Buffer>;
  /** The same signature as r‖s, 64 bytes (JOSE ES256). */
  signRaw?(data: Buffer): Promise<Buffer>;
  /** Releases what the signer holds (a token session it opened); signing afterwards fails. */
  close?(): Promise<void>;
}

/**
 * A software ECDSA P-256 key in this process's memory: development and tests. Its mode is always
 * `non_qualified`, whatever asked for it.
 */
export class SoftwareSigner implements Signer {
  readonly mode = 'non_qualified' as const;
  private readonly spki: Buffer;
  private closed = false;

  private constructor(
    readonly keyLabel: string,
    private readonly privateKey: KeyObject,
  ) {
    const details = privateKey.asymmetricKeyDetails;
    if (privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
      throw new RegistoError('CONFIG_INVALID', `software signing key ${keyLabel} is not an EC P-256 private key`, { keyLabel });
    }
    this.spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  }

  /** A fresh key, held only in memory. */
  static generate(keyLabel = 'software-signer'): SoftwareSigner {
    return new SoftwareSigner(keyLabel, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  }

  /** An existing key: a KeyObject, PEM (PKCS#8 or SEC1), or PKCS#8 DER. */
  static fromPrivateKey(keyLabel: string, key: KeyObject | string | Buffer): SoftwareSigner {
    let privateKey: KeyObject;
    try {
      privateKey = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(typeof key === 'string' ? key : { key, format: 'der', type: 'pkcs8' }) : key;
    } catch (error) {
      throw new RegistoError('CONFIG_INVALID', `software signing key ${keyLabel} cannot be read: ${(error as Error).message}`, { keyLabel });
    }
    if (privateKey.type !== 'private') throw new RegistoError('CONFIG_INVALID', `software signing key ${keyLabel} is not a private key`, { keyLabel });
    return new SoftwareSigner(keyLabel, privateKey);
  }

  async publicKeySpki(): Promise<Buffer> {
    return Buffer.from(this.spki);
  }

  private check(): void {
    if (this.closed) throw new RegistoError('HSM_UNAVAILABLE', `signer ${this.keyLabel} is closed`, { keyLabel: this.keyLabel });
  }

  async sign(data: Buffer): Promise<Buffer> {
    this.check();
    return nodeSign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' });
  }

  async signRaw(data: Buffer): Promise<Buffer> {
    this.check();
    return nodeSign('sha256', data, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Signatures per second that `signer` makes over `seconds` (one signature at a time, distinct
 * 32-byte inputs): the physical limit other benchmarks compare against.
 */
export async function measureSignRate(signer: Signer, seconds: number): Promise<number> {
  const data = Buffer.alloc(32);
  await signer.sign(data); // warm up (first use may open or page in the key)
  const started = performance.now();
  const until = started + seconds * 1000;
  let signatures = 0;
  while (performance.now() < until) {
    data.writeUInt32BE(signatures, 0);
    await signer.sign(data);
    signatures++;
  }
  return signatures / ((performance.now() - started) / 1000);
}

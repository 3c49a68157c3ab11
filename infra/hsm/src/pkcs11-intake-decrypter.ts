import { createDecipheriv, createHash, createPublicKey } from 'node:crypto';
import type { PrivateKey } from 'graphene-pk11';
import { calculateJwkThumbprint } from 'jose';
import { RegistoError } from '@registo/schemas';
import { PACKET_CONTENT_ENCRYPTION, PACKET_KEY_MANAGEMENT_ALG } from '@registo/packets';
import type { IntakeDecrypter } from '@registo/packets';
import type { Pkcs11Token } from './pkcs11-token.js';

/** The intake key's label on the token, made by `registo keys init` in qualified mode. */
export const INTAKE_KEY_LABEL = 'registo-intake';

const AES_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

function b64u(segment: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new Error(`${what} is not base64url`);
  return Buffer.from(segment, 'base64url');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(bytes.length);
  return Buffer.concat([n, bytes]);
}

/**
 * Concat KDF (NIST SP 800-56A, as RFC 7518 §4.6.2 uses it) for ECDH-ES+A256KW: SHA-256 over
 * counter 1 ‖ Z ‖ AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo (keydatalen 256) — one
 * round gives the 256-bit key-wrapping key.
 */
export function concatKdfA256KW(z: Buffer, apu: Buffer, apv: Buffer): Buffer {
  const keyDataLen = Buffer.alloc(4);
  keyDataLen.writeUInt32BE(256);
  return createHash('sha256')
    .update(Buffer.from([0, 0, 0, 1]))
    .update(z)
    .update(lengthPrefixed(Buffer.from(PACKET_KEY_MANAGEMENT_ALG, 'ascii')))
    .update(lengthPrefixed(apu))
    .update(lengthPrefixed(apv))
    .update(keyDataLen)
    .digest();
}

/** The ephemeral key of the header as an uncompressed point, refused unless it is a P-256 point on the curve. */
function ephemeralPoint(epk: unknown): Buffer {
  const jwk = epk as { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown; d?: unknown } | null;
  if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || 'd' in jwk) {
    throw new Error('epk is not a public EC P-256 JWK');
  }
  const x = b64u(jwk.x, 'epk.x');
  const y = b64u(jwk.y, 'epk.y');
  if (x.length !== 32 || y.length !== 32) throw new Error('epk coordinates are not 32 bytes');
  // Node (OpenSSL) refuses a point that is not on the curve: an invalid-curve attack stops here,
  // before the token computes anything with the private key.
  createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
  return Buffer.concat([Buffer.from([0x04]), x, y]);
}

/**
 * The PKCS#11 adapter of the intake-decryption port: ECDH (CKM_ECDH1_DERIVE) with the token's
 * `registo-intake` key — the private key never leaves the token — then, in this process, the
 * Concat KDF, AES key unwrap (RFC 3394) of the content key and AES-256-GCM with the protected
 * header as AAD (RFC 7516 §5.2). Any failure is thrown as a plain error, which the codec maps to
 * PACKET_DECRYPTION_FAILED; a token that is gone is HSM_UNAVAILABLE.
 */
export class Pkcs11IntakeDecrypter implements IntakeDecrypter {
  private constructor(
    private readonly token: Pkcs11Token,
    private readonly privateKey: PrivateKey,
    readonly keyRef: string,
    /** The public key as JWK (kty, crv, x, y): what registration clients encrypt to. */
    readonly publicJwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string },
    /** RFC 7638 thumbprint of the public key: the `kid` clients put in the header. */
    readonly kid: string,
  ) {}

  /** What the platform publishes (GET /v1/intake/key): the public key with kid, alg and use. */
  get publishedJwk(): Record<string, unknown> {
    return { ...this.publicJwk, kid: this.kid, alg: PACKET_KEY_MANAGEMENT_ALG, use: 'enc' };
  }

  /** The token's intake key (made by the key ceremony); never creates one. */
  static async open(token: Pkcs11Token, label: string = INTAKE_KEY_LABEL): Promise<Pkcs11IntakeDecrypter> {
    const found = await token.findEcKey(label);
    const where = { module: token.modulePath, tokenLabel: token.tokenLabel, keyLabel: label };
    if (!found) throw new RegistoError('CONFIG_INVALID', `no intake key labelled "${label}" on PKCS#11 token "${token.tokenLabel}" (module ${token.modulePath}); run \`registo keys init\` first`, where);
    const usage = token.use(() => found.privateKey.getAttribute({ derive: null }));
    if (!usage.derive) throw new RegistoError('CONFIG_INVALID', `key "${label}" on PKCS#11 token "${token.tokenLabel}" may not derive (CKA_DERIVE false)`, where);
    const jwk = createPublicKey({ key: found.spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }) as { x: string; y: string };
    const publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } as const;
    return new Pkcs11IntakeDecrypter(token, found.privateKey, `pkcs11:${token.tokenLabel}/${label}`, publicJwk, await calculateJwkThumbprint(publicJwk));
  }

  async decrypt(compactJwe: string): Promise<Uint8Array> {
    const parts = compactJwe.split('.');
    if (parts.length !== 5) throw new Error('not a JWE compact serialization');
    const [headerPart, keyPart, ivPart, cipherPart, tagPart] = parts as [string, string, string, string, string];
    const header = JSON.parse(b64u(headerPart, 'header').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== PACKET_KEY_MANAGEMENT_ALG || header.enc !== PACKET_CONTENT_ENCRYPTION) throw new Error('unsupported alg / enc');
    if ('zip' in header || 'crit' in header) throw new Error('zip and crit are not supported');
    const point = ephemeralPoint(header.epk);
    const apu = typeof header.apu === 'string' ? b64u(header.apu, 'apu') : header.apu === undefined ? Buffer.alloc(0) : undefined;
    const apv = typeof header.apv === 'string' ? b64u(header.apv, 'apv') : header.apv === undefined ? Buffer.alloc(0) : undefined;
    if (!apu || !apv) throw new Error('apu / apv must be base64url strings');

    const z = this.token.ecdhSharedSecret(this.privateKey, point);
    let kek: Buffer | undefined;
    let cek: Buffer | undefined;
    try {
      kek = concatKdfA256KW(z, apu, apv);
      const unwrap = createDecipheriv('id-aes256-wrap', kek, AES_KW_IV);
      cek = Buffer.concat([unwrap.update(b64u(keyPart, 'encrypted key')), unwrap.final()]);
      if (cek.length !== 32) throw new Error('the content key is not 256 bits');
      const iv = b64u(ivPart, 'iv');
      const tag = b64u(tagPart, 'tag');
      if (iv.length !== 12 || tag.length !== 16) throw new Error('bad IV or tag length');
      const gcm = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
      gcm.setAAD(Buffer.from(headerPart, 'ascii'));
      gcm.setAuthTag(tag);
      return Buffer.concat([gcm.update(b64u(cipherPart, 'ciphertext')), gcm.final()]);
    } finally {
      // Nothing secret outlives the call.
      z.fill(0);
      kek?.fill(0);
      cek?.fill(0);
    }
  }
}

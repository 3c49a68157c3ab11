import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its own modules
import { createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CompactEncrypt, CompactSign, compactVerify } from 'jose';
import { canonicalJson, isRegistoError, sha256Hex } from '@registo/schemas';
import { type IntakeDecrypter, SoftwareIntakeDecrypter } from './intake-decrypter.js';
import { checkRegIdDate } from './reg-id.js';
import { PACKET_CONTENT_ENCRYPTION, PACKET_KEY_MANAGEMENT_ALG, PACKET_SIGNATURE_ALG } from './authority.js';
import { decodeBase64Url, decodeHeader, decodeUtf8, packetError, type PacketErrorContext } from './compact.js';
import { REG_ID_PATTERN, type EnrollmentPacket, type PacketContentRules } from './content.js';
import { validatePacketContent } from './content-checks.js';
import { parseTrustedCas, verifySignerChain, type PacketSigner } from './signer-trust.js';
import { decodeBase64Strict } from '@registo/crypto';
import { parseStrictJson } from '@registo/base';

type Key = webcrypto.CryptoKey | KeyObject;

export const DEFAULT_MAX_PACKET_BYTES = 2 * 1024 * 1024;
const MAX_CHAIN_LENGTH = 4;

export interface DeviceSigner {
  privateKey: Key;
  certificatePem: string;
  /** Intermediate CA certificates, signer's issuer first. */
  chainPems?: readonly string[];
}

export interface SealOptions {
  device: DeviceSigner;
  intakePublicKey: Key;
  intakeKid: string;
}

export interface PacketTrust {
  /** The intake private key held in this process (non_qualified); or give `intakeDecrypter`. */
  intakePrivateKey?: Key;
  /** Decrypts with the intake key wherever it is (the PKCS#11 token in qualified mode). */
  intakeDecrypter?: IntakeDecrypter;
  trustedCaPems: readonly string[];
  now?: () => Date;
  maxBytes?: number;
  qualityThreshold?: number;
  /** The register's packet-content rules, run with the schema (intake passes producers' packetContentIssues). */
  contentRules?: PacketContentRules;
}

/**
 * What `openPacket` checks, in the order it checks them: a packet it returns has passed all
 * of these (recorded in PacketValidated). Kept beside the code that runs them, so the list
 * cannot claim a check that is not made.
 */
export const PACKET_OPEN_CHECKS = ['decryption', 'signature', 'trust-chain', 'signer-validity', 'schema', 'dates', 'admin-units', 'quality', 'signer-device'] as const;

export interface OpenedPacket {
  packet: EnrollmentPacket;
  /** The checks it passed: `PACKET_OPEN_CHECKS`. */
  checks: readonly string[];
  /** Hex SHA-256 of the canonical JSON (RFC 8785) of the signed payload. */
  packetHash: string;
  signer: PacketSigner;
}

/** Hex SHA-256 of the canonical JSON of a packet: the same content always hashes the same. */
export function packetHashOf(content: unknown): string {
  return sha256Hex(canonicalJson(content));
}

/** Inner layer: a JWS compact (ES256) over the payload bytes, the device certificate in `x5c`. */
export async function signPacketPayload(payload: string | Uint8Array, device: DeviceSigner): Promise<string> {
  const x5c = [device.certificatePem, ...(device.chainPems ?? [])].map((pem) =>
    Buffer.from(new x509.X509Certificate(pem).rawData).toString('base64'),
  );
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return new CompactSign(bytes).setProtectedHeader({ alg: PACKET_SIGNATURE_ALG, typ: 'JOSE', x5c }).sign(device.privateKey);
}

/** Outer layer: a JWE compact to the intake key (ECDH-ES+A256KW, A256GCM). */
export async function encryptForIntake(plaintext: string | Uint8Array, intake: { publicKey: Key; kid: string }): Promise<string> {
  const bytes = typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : plaintext;
  return new CompactEncrypt(bytes)
    .setProtectedHeader({ alg: PACKET_KEY_MANAGEMENT_ALG, enc: PACKET_CONTENT_ENCRYPTION, kid: intake.kid, cty: 'JOSE' })
    .encrypt(intake.publicKey);
}

/** Signs then encrypts any JSON value (canonical JSON payload); content is checked only on opening. */
export async function sealPacket(packet: unknown, options: SealOptions): Promise<string> {
  const jws = await signPacketPayload(canonicalJson(packet), options.device);
  return encryptForIntake(jws, { publicKey: options.intakePublicKey, kid: options.intakeKid });
}

const ANONYMOUS: PacketErrorContext = { authenticated: false };

/**
 * Opens an enrollment packet: size, JWE structure, decryption, JWS structure and algorithm,
 * signer chain, signer validity, signature, then the content. Every error carries
 * `details.authenticated`; once the signature holds, also `packetHash`, the signer's `deviceId`
 * and `centreId`, the `claimedCentreId` the content names, and `regId` when the payload names a
 * well-formed, plausibly dated one, so the caller can record a rejection for authentic packets
 * only (and the enrollment decider can check that the signer may file under that id).
 */
export async function openPacket(body: string | Uint8Array, trust: PacketTrust): Promise<OpenedPacket> {
  const now = (trust.now ?? (() => new Date()))();
  const maxBytes = trust.maxBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (size > maxBytes) throw packetError('PACKET_TOO_LARGE', `packet is ${size} bytes; the limit is ${maxBytes}`, ANONYMOUS, { size, maxBytes });

  const decrypter = trust.intakeDecrypter ?? (trust.intakePrivateKey ? new SoftwareIntakeDecrypter(trust.intakePrivateKey) : undefined);
  if (!decrypter) throw new TypeError('PacketTrust needs intakePrivateKey or intakeDecrypter');
  const jws = await decrypt(body, decrypter);
  const { payload, signer } = await verifySignature(jws, trust, now);
  return checkContent(payload, signer, trust, now);
}

async function decrypt(body: string | Uint8Array, decrypter: IntakeDecrypter): Promise<string> {
  const text = (typeof body === 'string' ? body : decodeUtf8(body))?.trim();
  if (!text) throw packetError('PACKET_MALFORMED', 'empty packet, or not UTF-8 text', ANONYMOUS);
  const parts = text.split('.');
  const malformed = (why: string) => packetError('PACKET_MALFORMED', `not a JWE compact serialization: ${why}`, ANONYMOUS);
  if (parts.length !== 5) throw malformed(`${parts.length} dot-separated parts instead of 5`);
  const [headerPart, keyPart, ivPart, cipherPart, tagPart] = parts as [string, string, string, string, string];
  const header = decodeHeader(headerPart);
  if (!header) throw malformed('the protected header is not base64url JSON');
  if (!decodeBase64Url(keyPart) || !decodeBase64Url(cipherPart)?.length) throw malformed('bad encrypted key or ciphertext');
  // AES-GCM always has a 96-bit IV and a 128-bit tag: anything else is a truncated or mangled packet.
  if (decodeBase64Url(ivPart)?.length !== 12 || decodeBase64Url(tagPart)?.length !== 16) throw malformed('bad IV or tag');

  const undecryptable = (why: string) =>
    packetError('PACKET_DECRYPTION_FAILED', `cannot decrypt with the intake key: ${why}`, ANONYMOUS, { kid: clip(header.kid) });
  if (header.alg !== PACKET_KEY_MANAGEMENT_ALG || header.enc !== PACKET_CONTENT_ENCRYPTION) {
    throw undecryptable(`alg ${clip(header.alg)} / enc ${clip(header.enc)} is not ${PACKET_KEY_MANAGEMENT_ALG} / ${PACKET_CONTENT_ENCRYPTION}`);
  }
  if ('zip' in header || 'crit' in header) throw undecryptable('compressed or critical-extension packets are not accepted');
  let plaintext: Uint8Array;
  try {
    plaintext = await decrypter.decrypt(text);
  } catch (error) {
    // A token that went away is the platform's trouble (503), not the packet's.
    if (isRegistoError(error) && error.code === 'HSM_UNAVAILABLE') throw error;
    throw undecryptable('wrong key, or the packet was altered');
  }
  const jws = decodeUtf8(plaintext);
  if (jws === undefined) throw packetError('PACKET_MALFORMED', 'the decrypted content is not UTF-8 text', ANONYMOUS);
  return jws;
}

async function verifySignature(jws: string, trust: PacketTrust, now: Date): Promise<{ payload: Uint8Array; signer: PacketSigner }> {
  const parts = jws.split('.');
  const malformed = (why: string) => packetError('PACKET_MALFORMED', `the decrypted content is not a signed packet: ${why}`, ANONYMOUS);
  if (parts.length !== 3) throw malformed(`${parts.length} dot-separated parts instead of a JWS compact's 3`);
  const header = decodeHeader(parts[0]!);
  if (!header) throw malformed('the JWS header is not base64url JSON');
  if (!decodeBase64Url(parts[1]!) || !decodeBase64Url(parts[2]!)) throw malformed('bad base64url in payload or signature');
  if ('crit' in header || 'b64' in header) throw malformed('critical or unencoded-payload JWS headers are not accepted');
  // Only ES256: `none`, HMAC (key confusion with the certificate's public key) and everything else fail here.
  if (header.alg !== PACKET_SIGNATURE_ALG) {
    throw packetError('PACKET_SIGNATURE_INVALID', `JWS alg ${clip(header.alg)} is not ${PACKET_SIGNATURE_ALG}`, ANONYMOUS);
  }
  const { signer, key } = await trustedSigner(header.x5c, trust, now, malformed);
  try {
    const { payload } = await compactVerify(jws, key, { algorithms: [PACKET_SIGNATURE_ALG] });
    return { payload, signer };
  } catch {
    throw packetError('PACKET_SIGNATURE_INVALID', `the signature does not verify with the key of signer '${signer.deviceId}'`, ANONYMOUS);
  }
}

interface TrustedSigner {
  signer: PacketSigner;
  key: KeyObject;
  /** The window in which every certificate on the path (and every trusted CA) is valid. */
  validFrom: number;
  validUntil: number;
}

/**
 * Chains already verified, by x5c and trust anchors. A registration client signs thousands of
 * packets with one certificate: parsing and verifying its chain once, then only checking the
 * time against the path's validity window, keeps the certificate work off the per-packet path.
 */
const SIGNER_CACHE = new Map<string, TrustedSigner>();
const SIGNER_CACHE_SIZE = 1024;

async function trustedSigner(x5c: unknown, trust: PacketTrust, now: Date, malformed: (why: string) => Error): Promise<TrustedSigner> {
  const cacheKey = `${JSON.stringify(x5c)}\n${trust.trustedCaPems.join('\n')}`;
  const cached = SIGNER_CACHE.get(cacheKey);
  if (cached && now.getTime() >= cached.validFrom && now.getTime() <= cached.validUntil) return cached;
  const chain = parseX5c(x5c);
  if (!chain) throw malformed('x5c is missing or is not a list of base64 DER certificates');
  const anchors = parseTrustedCas(trust.trustedCaPems);
  const signer = await verifySignerChain(chain, anchors, now);
  const key = createPublicKey({ key: Buffer.from(chain[0]!.publicKey.rawData), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw packetError('PACKET_SIGNATURE_INVALID', 'the signer certificate does not hold a P-256 key', ANONYMOUS);
  }
  const certs = [...chain, ...anchors];
  const entry: TrustedSigner = {
    signer,
    key,
    validFrom: Math.max(...certs.map((c) => c.notBefore.getTime())),
    validUntil: Math.min(...certs.map((c) => c.notAfter.getTime())),
  };
  if (SIGNER_CACHE.size >= SIGNER_CACHE_SIZE) SIGNER_CACHE.delete(SIGNER_CACHE.keys().next().value!);
  SIGNER_CACHE.set(cacheKey, entry);
  return entry;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Header values come from anyone: quote them, and keep them short, before they reach a log. */
function clip(value: unknown): string {
  return (JSON.stringify(value) ?? 'undefined').slice(0, 64);
}

function parseX5c(x5c: unknown): x509.X509Certificate[] | undefined {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN_LENGTH) return undefined;
  const certs: x509.X509Certificate[] = [];
  for (const entry of x5c) {
    // x5c is standard base64 (RFC 7515 §4.1.6), not base64url.
    const der = typeof entry === 'string' && entry.length <= 16_384 ? decodeBase64Strict(entry) : null;
    if (!der || der.length === 0) return undefined;
    try {
      certs.push(new x509.X509Certificate(der));
    } catch {
      return undefined;
    }
  }
  return certs;
}

function checkContent(payload: Uint8Array, signer: PacketSigner, trust: PacketTrust, now: Date): OpenedPacket {
  const text = decodeUtf8(payload);
  let content: unknown;
  let packetHash: string;
  try {
    // Strict JSON, as for every API body: a key given twice would let a reviewer and the platform read different packets.
    content = parseStrictJson(text ?? '');
    packetHash = packetHashOf(content);
  } catch {
    // Authentic but not strict JSON (or nested too deeply to canonicalise): the hash is then over the signed bytes.
    const context = { authenticated: true, packetHash: sha256Hex(payload), deviceId: signer.deviceId };
    throw packetError('PACKET_MALFORMED', 'the signed payload is not JSON, holds a key twice, or is nested too deeply', context);
  }
  const regId = isRecord(content) ? content.regId : undefined;
  const claimedCentreId = isRecord(content) ? content.centreId : undefined;
  const authentic: PacketErrorContext = {
    authenticated: true,
    packetHash,
    deviceId: signer.deviceId,
    centreId: signer.centreId,
    ...(typeof claimedCentreId === 'string' ? { claimedCentreId: claimedCentreId.slice(0, 64) } : {}),
  };
  const wellFormedId = typeof regId === 'string' && REG_ID_PATTERN.test(regId);
  if (wellFormedId) {
    // An id the device cannot have issued is no registration id: nothing is recorded under it.
    try {
      checkRegIdDate(regId, now, signer.certifiedFrom);
    } catch (e) {
      if (isRegistoError(e)) throw packetError(e.code, e.message, authentic, e.details);
      throw e;
    }
  }
  const context: PacketErrorContext = { ...authentic, ...(wellFormedId ? { regId } : {}) };
  let packet: EnrollmentPacket;
  try {
    packet = validatePacketContent(content, { now, qualityThreshold: trust.qualityThreshold, certifiedFrom: signer.certifiedFrom, ...(trust.contentRules && { rules: trust.contentRules }) });
  } catch (e) {
    if (isRegistoError(e)) throw packetError(e.code, e.message, context, e.details);
    throw e;
  }
  if (packet.deviceId !== signer.deviceId) {
    throw packetError('PACKET_SIGNER_MISMATCH', `packet names device '${packet.deviceId}' but was signed by '${signer.deviceId}'`, context);
  }
  return { packet, checks: PACKET_OPEN_CHECKS, packetHash, signer };
}

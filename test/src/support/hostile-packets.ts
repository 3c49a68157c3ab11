import { createHmac, webcrypto } from 'node:crypto';
import { canonicalJson, sha256Hex, type ErrorCode } from '@registo/schemas';
import {
  DEFAULT_MAX_PACKET_BYTES,
  REG_ID_PATTERN,
  createRegistrationAuthority,
  encryptForIntake,
  generateIntakeKey,
  issueDeviceCertificate,
  packetHashOf,
  sealPacket,
  signPacketPayload,
  type DeviceCredentials,
  type DeviceSigner,
  type EnrollmentPacket,
  type IntakeKey,
  type PacketTrust,
  type RegistrationAuthority,
} from '@registo/infra';

export const TEST_DEVICE_ID = 'dev-00042';
export const TEST_CENTRE_ID = '10031';
/** A centre other than TEST_CENTRE_ID, for devices that must not speak for it. */
export const OTHER_CENTRE_ID = '20077';
const DAY_MS = 86_400_000;

/** Everything a packet test needs: the trusted CA, devices good and bad, intake keys. */
export interface PacketTestEnv {
  now: Date;
  ca: RegistrationAuthority;
  /** A CA the platform does not trust. */
  otherCa: RegistrationAuthority;
  /** Same name as `ca`, different key: a forged issuer. */
  impostorCa: RegistrationAuthority;
  device: DeviceCredentials;
  /** Another device certified by the trusted CA. */
  otherDevice: DeviceCredentials;
  /** A device certified by the trusted CA for OTHER_CENTRE_ID. */
  otherCentreDevice: DeviceCredentials;
  /** Same device id as `device`, certified by `otherCa` / `impostorCa` / itself. */
  foreignDevice: DeviceCredentials;
  impostorDevice: DeviceCredentials;
  selfSignedDevice: DeviceCredentials;
  expiredDevice: DeviceCredentials;
  notYetValidDevice: DeviceCredentials;
  intake: IntakeKey;
  otherIntake: IntakeKey;
  trust: PacketTrust;
  /** Seal any JSON value as `signer` (default: `device`) to the platform's intake key. */
  seal(content: unknown, signer?: DeviceCredentials): Promise<string>;
}

const daysFrom = (t: Date, days: number) => new Date(t.getTime() + days * DAY_MS);

export async function createPacketTestEnv(): Promise<PacketTestEnv> {
  const now = new Date();
  const ca = await createRegistrationAuthority({ name: 'Registo Test Registration Client CA' });
  const otherCa = await createRegistrationAuthority({ name: 'Some Other CA' });
  const impostorCa = await createRegistrationAuthority({ name: 'Registo Test Registration Client CA' });
  // Certified a month ago: packets captured minutes before `now` were captured by a certified device.
  const id = { deviceId: TEST_DEVICE_ID, centreId: TEST_CENTRE_ID, notBefore: daysFrom(now, -30) };
  const device = await issueDeviceCertificate(ca, id);
  const foreign = await issueDeviceCertificate(otherCa, id);
  // Self-signed: the certificate names itself as issuer and is signed by its own key.
  const selfKeys = { privateKey: foreign.privateKey, publicKey: foreign.publicKey };
  const selfSignedDevice = await issueDeviceCertificate({ certificate: foreign.certificate, keys: selfKeys }, { ...id, keys: selfKeys });
  const intake = await generateIntakeKey();
  return {
    now,
    ca,
    otherCa,
    impostorCa,
    device,
    otherDevice: await issueDeviceCertificate(ca, { ...id, deviceId: 'dev-00777' }),
    otherCentreDevice: await issueDeviceCertificate(ca, { ...id, deviceId: 'dev-20077-01', centreId: OTHER_CENTRE_ID }),
    foreignDevice: foreign,
    impostorDevice: await issueDeviceCertificate(impostorCa, id),
    selfSignedDevice,
    expiredDevice: await issueDeviceCertificate(ca, { ...id, notBefore: daysFrom(now, -400), notAfter: daysFrom(now, -1) }),
    notYetValidDevice: await issueDeviceCertificate(ca, { ...id, notBefore: daysFrom(now, 1), notAfter: daysFrom(now, 400) }),
    intake,
    otherIntake: await generateIntakeKey(),
    trust: { intakePrivateKey: intake.privateKey, trustedCaPems: [ca.certificatePem], now: () => now },
    seal: (content, signer = device) => sealPacket(content, { device: signer, intakePublicKey: intake.publicKey, intakeKid: intake.kid }),
  };
}

// ---- valid content ----

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

let sequence = 0;

/** A registration id no other call in this process has produced: centre 10031, next sequence, `now`. */
export function nextRegId(now = new Date()): string {
  sequence = (sequence % 99_999) + 1;
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `10031-${String(sequence).padStart(5, '0')}-${stamp}`;
}

function merge(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides === undefined ? base : overrides;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) out[k] = merge(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SYNTHETIC_TEMPLATE = Buffer.from('synthetic-template:'.repeat(8)).toString('base64');

/** A NEW packet for a citizen, captured minutes before `now` by TEST_DEVICE_ID; nested overrides merge. */
export function validPacket(overrides: DeepPartial<EnrollmentPacket> = {}, now = new Date()): EnrollmentPacket {
  const base: EnrollmentPacket = {
    regId: nextRegId(now),
    packetType: 'NEW',
    centreId: TEST_CENTRE_ID,
    operatorId: 'op-0007',
    deviceId: TEST_DEVICE_ID,
    capture: {
      startedAt: new Date(now.getTime() - 20 * 60_000).toISOString(),
      completedAt: new Date(now.getTime() - 10 * 60_000).toISOString(),
    },
    demographics: {
      givenNames: 'Maria da Conceição',
      surname: 'Neto',
      dateOfBirth: '1990-04-12',
      sex: 'F',
      nationality: 'STP',
      address: { district: 'Mé-Zóchi', locality: 'Trindade', line: 'Rua da Independência 12' },
      placeOfBirth: 'Água Grande',
      motherName: 'Ana Neto',
      civilRegistryNumber: 'CR-0000042-6',
    },
    documents: [{ type: 'BIRTH_CERTIFICATE', reference: 'AG/1990/1234', sha256: sha256Hex('birth certificate scan') }],
    biometrics: [
      { modality: 'FINGER', position: 'RIGHT_THUMB', format: 'SYNTHETIC', template: SYNTHETIC_TEMPLATE, quality: 82 },
      { modality: 'FACE', position: 'FACE', format: 'SYNTHETIC', template: SYNTHETIC_TEMPLATE, quality: 75 },
    ],
  };
  return merge(base, overrides) as EnrollmentPacket;
}

/** A foreign resident's NEW packet (residence permit instead of a civil-registry number). */
export function validForeignerPacket(now = new Date()): EnrollmentPacket {
  const p = validPacket({ demographics: { nationality: 'PRT', residencePermitNumber: 'RP-000123-4' } }, now);
  delete p.demographics.civilRegistryNumber;
  delete p.demographics.placeOfBirth;
  return p;
}

/**
 * Same regId, different content: the codec accepts it (it cannot know the id was used), the
 * intake must refuse it against the store with PACKET_ID_REUSED.
 */
export function replayedWithOtherContent(packet: EnrollmentPacket): EnrollmentPacket {
  return { ...structuredClone(packet), demographics: { ...packet.demographics, surname: `${packet.demographics.surname} Outro` } };
}

/** A deep copy of `packet` changed by `change`, which may break any rule (the result is any JSON). */
export function mutated(packet: EnrollmentPacket, change: (p: any) => void): unknown {
  const copy = structuredClone(packet);
  change(copy);
  return copy;
}

// ---- hand-made JOSE, for what the real codec would never produce ----

const b64url = (v: string | Uint8Array) => Buffer.from(v).toString('base64url');
const b64 = (v: string | Uint8Array) => Buffer.from(v).toString('base64');
const derBase64 = (d: DeviceCredentials | RegistrationAuthority) => Buffer.from(d.certificate.rawData).toString('base64');

/** A JWS compact with any header, signed ES256 by `key` (raw r‖s, as JWS wants). */
export async function signJwsWith(header: Record<string, unknown>, payload: string, key: webcrypto.CryptoKey): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(payload)}`;
  const sig = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** Replaces one base64url character in the middle of part `index` of a compact serialization. */
function flipInPart(compact: string, index: number): string {
  const parts = compact.split('.');
  const part = parts[index]!;
  const at = Math.floor(part.length / 2);
  parts[index] = part.slice(0, at) + (part[at] === 'A' ? 'B' : 'A') + part.slice(at + 1);
  return parts.join('.');
}

function replacePart(compact: string, index: number, value: string): string {
  const parts = compact.split('.');
  parts[index] = value;
  return parts.join('.');
}

function decodeHeader(compact: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

// ---- the corpus ----

export interface HostileCase {
  name: string;
  body: string | Buffer;
  expectedCode: ErrorCode;
  /** True when the signature and chain verify, so the caller may record a rejection. */
  authenticated: boolean;
  /** Set when the packet is authentic and names a well-formed registration id. */
  regId?: string;
  /** Set when authentic: the hash the error details must carry. */
  packetHash?: string;
}

/** The valid packet the cases start from, its sealed forms, and the helpers that record a case. */
interface CorpusKit {
  cases: HostileCase[];
  refuse: (name: string, body: string | Buffer, expectedCode: ErrorCode) => void;
  authentic: (name: string, original: unknown, expectedCode: ErrorCode, signer?: PacketTestEnv['device']) => Promise<void>;
  encrypt: (jws: string) => Promise<string>;
  good: EnrollmentPacket;
  goodJson: string;
  sealed: string;
  goodJws: string;
  parts: string[];
  sealAs: (device: DeviceSigner, content?: unknown) => Promise<string>;
  withJweHeader: (changes: Record<string, unknown>) => string;
  signedWith: (header: Record<string, unknown>, key?: webcrypto.CryptoKey) => Promise<string>;
  withSignature: (header: Record<string, unknown> | string, signature: string) => Promise<string>;
}

async function corpusKit(env: PacketTestEnv): Promise<CorpusKit> {
  const cases: HostileCase[] = [];
  const refuse = (name: string, body: string | Buffer, expectedCode: ErrorCode): void => void cases.push({ name, body, expectedCode, authenticated: false });
  const encrypt = (jws: string) => encryptForIntake(jws, env.intake);
  const good = validPacket({}, env.now);
  const goodJson = canonicalJson(good);
  const sealed = await env.seal(good);
  const goodJws = await signPacketPayload(goodJson, env.device);

  // Authentic packets with bad content: the id (when well-formed) and hash must reach the caller.
  // Each gets an id of its own, so the whole corpus can go through one intake and one store.
  const authentic = async (name: string, original: unknown, expectedCode: ErrorCode, signer = env.device) => {
    const content = isPlainObject(original) && original.regId === good.regId ? { ...original, regId: nextRegId(env.now) } : original;
    const regId = (content as { regId?: unknown } | null)?.regId;
    cases.push({
      name,
      body: await env.seal(content, signer),
      expectedCode,
      authenticated: true,
      packetHash: packetHashOf(content),
      ...(typeof regId === 'string' && REG_ID_PATTERN.test(regId) ? { regId } : {}),
    });
  };

  const sealAs = (device: DeviceSigner, content: unknown = good) =>
    sealPacket(content, { device, intakePublicKey: env.intake.publicKey, intakeKid: env.intake.kid });
  const withJweHeader = (changes: Record<string, unknown>) => replacePart(sealed, 0, b64url(JSON.stringify({ ...decodeHeader(sealed), ...changes })));
  const signedWith = async (header: Record<string, unknown>, key = env.device.privateKey) => encrypt(await signJwsWith(header, goodJson, key));
  const withSignature = (header: Record<string, unknown> | string, signature: string) =>
    encrypt(`${typeof header === 'string' ? header : b64url(JSON.stringify(header))}.${b64url(goodJson)}.${signature}`);
  const parts = sealed.split('.');
  return { cases, refuse, authentic, encrypt, good, goodJson, sealed, goodJws, parts, sealAs, withJweHeader, signedWith, withSignature };
}

/** Not a JWE compact at all, or too large. */
async function notAJwe(env: PacketTestEnv, k: CorpusKit): Promise<void> {
  const { refuse, good, sealed, goodJws, parts } = k;
  refuse('empty body', '', 'PACKET_MALFORMED');
  refuse('whitespace only', ' \r\n\t ', 'PACKET_MALFORMED');
  refuse('plain text', 'hello, intake', 'PACKET_MALFORMED');
  refuse('not base64url', '!!!!.####.$$$$.%%%%.^^^^', 'PACKET_MALFORMED');
  refuse('JSON instead of a JWE', JSON.stringify(good), 'PACKET_MALFORMED');
  refuse('JWE JSON serialization instead of compact', JSON.stringify({ protected: parts[0], ciphertext: parts[3] }), 'PACKET_MALFORMED');
  refuse('signed but not encrypted (bare JWS)', goodJws, 'PACKET_MALFORMED');
  refuse('not UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x00, 0x2e, 0xc3, 0x28]), 'PACKET_MALFORMED');
  refuse('header is not JSON', replacePart(sealed, 0, b64url('not json')), 'PACKET_MALFORMED');
  const jweHeader = Buffer.from(parts[0]!, 'base64url').toString('utf8');
  refuse('header names alg twice (strict JSON)', replacePart(sealed, 0, b64url(jweHeader.replace('{', '{"alg":"dir",'))), 'PACKET_MALFORMED');
  refuse('truncated inside the header', sealed.slice(0, 10), 'PACKET_MALFORMED');
  refuse('truncated after the encrypted key', parts.slice(0, 2).join('.'), 'PACKET_MALFORMED');
  refuse('truncated to half', sealed.slice(0, Math.floor(sealed.length / 2)), 'PACKET_MALFORMED');
  refuse('truncated: tag missing', `${parts.slice(0, 4).join('.')}.`, 'PACKET_MALFORMED');
  refuse('truncated: last character of the tag', sealed.slice(0, -1), 'PACKET_MALFORMED');
  refuse('truncated: last four characters of the tag', sealed.slice(0, -4), 'PACKET_MALFORMED');
  refuse('six parts', `${sealed}.AAAA`, 'PACKET_MALFORMED');
  refuse('oversized garbage', 'A'.repeat(DEFAULT_MAX_PACKET_BYTES + 1), 'PACKET_TOO_LARGE');
  const huge = validPacket({}, env.now);
  huge.biometrics = 'ABCDEFGHIJKL'.split('').map((c) => ({
    modality: 'FINGER',
    position: `F_${c}`,
    format: 'SYNTHETIC',
    template: 'A'.repeat(200_000),
    quality: 90,
  }));
  refuse('oversized authentic packet', Buffer.from(await env.seal(huge)), 'PACKET_TOO_LARGE');
}

/** A JWE the intake key does not open, or whose inside is not a signed packet. */
async function notForTheIntake(env: PacketTestEnv, k: CorpusKit): Promise<void> {
  const { refuse, encrypt, good, goodJson, sealed, parts, withJweHeader, signedWith, withSignature } = k;
  // A JWE, but not one the intake key opens.
  const toOtherKey = await sealPacket(good, { device: env.device, intakePublicKey: env.otherIntake.publicKey, intakeKid: env.intake.kid });
  refuse('encrypted to another key', toOtherKey, 'PACKET_DECRYPTION_FAILED');
  refuse('altered encrypted key', flipInPart(sealed, 1), 'PACKET_DECRYPTION_FAILED');
  refuse('altered IV', flipInPart(sealed, 2), 'PACKET_DECRYPTION_FAILED');
  refuse('altered ciphertext', flipInPart(sealed, 3), 'PACKET_DECRYPTION_FAILED');
  refuse('altered tag', replacePart(sealed, 4, (parts[4]![0] === 'A' ? 'B' : 'A') + parts[4]!.slice(1)), 'PACKET_DECRYPTION_FAILED');
  refuse('altered header (extra field)', withJweHeader({ x: 1 }), 'PACKET_DECRYPTION_FAILED');
  refuse('header alg changed to dir', withJweHeader({ alg: 'dir' }), 'PACKET_DECRYPTION_FAILED');
  refuse('header enc changed to A128GCM', withJweHeader({ enc: 'A128GCM' }), 'PACKET_DECRYPTION_FAILED');
  refuse('ephemeral key swapped', withJweHeader({ epk: decodeHeader(await env.seal(good)).epk }), 'PACKET_DECRYPTION_FAILED');

  // Decrypts, but the inside is not a signed packet the platform accepts.
  const x5c = [derBase64(env.device)];
  refuse('encrypted JSON, not a JWS', await encrypt(goodJson), 'PACKET_MALFORMED');
  refuse('JWS missing x5c', await signedWith({ alg: 'ES256' }), 'PACKET_MALFORMED');
  refuse('JWS with an empty x5c', await signedWith({ alg: 'ES256', x5c: [] }), 'PACKET_MALFORMED');
  refuse('JWS x5c not a certificate', await signedWith({ alg: 'ES256', x5c: [b64('not a certificate')] }), 'PACKET_MALFORMED');
  refuse('JWS alg none', await withSignature({ alg: 'none', x5c }, ''), 'PACKET_SIGNATURE_INVALID');
  // The classic confusion: HMAC keyed with the signer's public certificate.
  const hsHeader = b64url(JSON.stringify({ alg: 'HS256', x5c }));
  const hsSignature = createHmac('sha256', env.device.certificatePem).update(`${hsHeader}.${b64url(goodJson)}`).digest('base64url');
  refuse('JWS alg HS256 keyed with the certificate', await withSignature(hsHeader, hsSignature), 'PACKET_SIGNATURE_INVALID');
  refuse('JWS alg ES384 claimed', await signedWith({ alg: 'ES384', x5c }), 'PACKET_SIGNATURE_INVALID');
}

/** A signer the platform does not trust (or not now), or a signature that does not hold. */
async function untrustedOrForged(env: PacketTestEnv, k: CorpusKit): Promise<void> {
  const { refuse, encrypt, good, goodJws, sealAs, signedWith, withSignature } = k;
  const x5c = [derBase64(env.device)];
  // Signer not trusted, or not valid now.
  refuse('self-signed signer', await sealAs(env.selfSignedDevice), 'PACKET_SIGNER_UNTRUSTED');
  refuse('signer certified by another CA', await sealAs(env.foreignDevice), 'PACKET_SIGNER_UNTRUSTED');
  refuse('signer certified by a CA forging the trusted name', await sealAs(env.impostorDevice), 'PACKET_SIGNER_UNTRUSTED');
  const caAsDevice = { certificatePem: env.ca.certificatePem, privateKey: env.ca.keys.privateKey };
  refuse('the trusted CA certificate used as signer', await sealAs(caAsDevice), 'PACKET_SIGNER_UNTRUSTED');
  const trustedCaAppended = { ...env.foreignDevice, chainPems: [env.ca.certificatePem] };
  refuse('foreign signer with the trusted CA appended to x5c', await sealAs(trustedCaAppended), 'PACKET_SIGNER_UNTRUSTED');
  refuse('expired signer', await sealAs(env.expiredDevice), 'PACKET_SIGNER_EXPIRED');
  refuse('not-yet-valid signer', await sealAs(env.notYetValidDevice), 'PACKET_SIGNER_EXPIRED');

  // Signature that does not hold.
  const [jwsHeader, , signature] = goodJws.split('.') as [string, string, string];
  const altered = canonicalJson({ ...good, demographics: { ...good.demographics, surname: 'Trovoada' } });
  refuse('altered payload, original signature', await encrypt(`${jwsHeader}.${b64url(altered)}.${signature}`), 'PACKET_SIGNATURE_INVALID');
  refuse('signed by another key than the certificate', await signedWith({ alg: 'ES256', x5c }, env.otherDevice.privateKey), 'PACKET_SIGNATURE_INVALID');
  const truncatedSignature = b64url(Buffer.from(signature, 'base64url').subarray(0, 48));
  refuse('signature bytes truncated', await withSignature(jwsHeader, truncatedSignature), 'PACKET_SIGNATURE_INVALID');
  refuse('signature all zeros', await withSignature(jwsHeader, b64url(new Uint8Array(64))), 'PACKET_SIGNATURE_INVALID');
}

/** Authentic, but the payload is not a packet the schema admits. */
async function notAPacket(env: PacketTestEnv, k: CorpusKit): Promise<void> {
  const { cases, authentic, encrypt, good } = k;
  // Authentic, but the payload is not a packet.
  const notJson = 'regId=10031-00001-20260101000000';
  cases.push({
    name: 'signed payload is not JSON',
    body: await encrypt(await signPacketPayload(notJson, env.device)),
    expectedCode: 'PACKET_MALFORMED',
    authenticated: true,
    packetHash: sha256Hex(notJson),
  });
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  cases.push({
    name: 'signed payload nested 200 000 deep',
    body: await encrypt(await signPacketPayload(deep, env.device)),
    expectedCode: 'PACKET_MALFORMED',
    authenticated: true,
    packetHash: sha256Hex(deep),
  });
  await authentic('payload is a JSON array', [good], 'PACKET_SCHEMA_INVALID');
  // Not strict JSON (infra text/strict-json.ts): a __proto__ key, or a key twice whose last value JSON.parse would keep.
  for (const [name, payload] of [
    ['payload with a __proto__ key', JSON.stringify(good).replace('{', '{"__proto__":{"polluted":true},')],
    ['payload with a key twice (the last would win)', JSON.stringify(good).replace('{', '{"packetType":"CORRECTION",')],
    ['demographics with a name twice', JSON.stringify(good).replace('"givenNames":', '"givenNames":"Someone Else","givenNames":')],
  ] as const) {
    cases.push({ name, body: await encrypt(await signPacketPayload(payload, env.device)), expectedCode: 'PACKET_MALFORMED', authenticated: true, packetHash: sha256Hex(payload) });
  }
  await authentic('payload is null', null, 'PACKET_SCHEMA_INVALID');
  await authentic('missing demographics', mutated(good, (p) => delete p.demographics), 'PACKET_SCHEMA_INVALID');
  await authentic('missing regId', mutated(good, (p) => delete p.regId), 'PACKET_SCHEMA_INVALID');
  await authentic('missing biometrics', mutated(good, (p) => delete p.biometrics), 'PACKET_SCHEMA_INVALID');
  await authentic('quality as a string', mutated(good, (p) => (p.biometrics[0].quality = 'high')), 'PACKET_SCHEMA_INVALID');
  await authentic('quality above 100', mutated(good, (p) => (p.biometrics[0].quality = 101)), 'PACKET_SCHEMA_INVALID');
  await authentic('quality not an integer', mutated(good, (p) => (p.biometrics[0].quality = 77.5)), 'PACKET_SCHEMA_INVALID');
  await authentic('dateOfBirth as a number', mutated(good, (p) => (p.demographics.dateOfBirth = 19900412)), 'PACKET_SCHEMA_INVALID');
  await authentic('extra top-level field', mutated(good, (p) => (p.priority = 'urgent')), 'PACKET_SCHEMA_INVALID');
  await authentic('extra field in demographics', mutated(good, (p) => (p.demographics.ethnicity = 'x')), 'PACKET_SCHEMA_INVALID');
  await authentic('regId in a bad format', mutated(good, (p) => (p.regId = '10031-42-20261122')), 'PACKET_SCHEMA_INVALID');
  await authentic('regId as a number', mutated(good, (p) => (p.regId = 10031)), 'PACKET_SCHEMA_INVALID');
  await authentic('unknown packet type', mutated(good, (p) => (p.packetType = 'MERGE')), 'PACKET_SCHEMA_INVALID');
  await authentic('unknown sex code', mutated(good, (p) => (p.demographics.sex = 'X')), 'PACKET_SCHEMA_INVALID');
  await authentic('unknown biometric modality', mutated(good, (p) => (p.biometrics[0].modality = 'VOICE')), 'PACKET_SCHEMA_INVALID');
  await authentic('sha256 too short', mutated(good, (p) => (p.documents[0].sha256 = 'ab'.repeat(31) + 'a')), 'PACKET_SCHEMA_INVALID');
  await authentic('sha256 not hex', mutated(good, (p) => (p.documents[0].sha256 = 'z'.repeat(64))), 'PACKET_SCHEMA_INVALID');
  await authentic('surname too long', mutated(good, (p) => (p.demographics.surname = 'Neto'.repeat(300))), 'PACKET_SCHEMA_INVALID');
  await authentic('control characters in a name', mutated(good, (p) => (p.demographics.givenNames = 'Maria\u0000')), 'PACKET_SCHEMA_INVALID');
  await authentic('empty biometrics', mutated(good, (p) => (p.biometrics = [])), 'PACKET_SCHEMA_INVALID');
  await authentic('template not base64', mutated(good, (p) => (p.biometrics[0].template = 'not base64!')), 'PACKET_SCHEMA_INVALID');
  await authentic('citizen without civil-registry number', mutated(good, (p) => delete p.demographics.civilRegistryNumber), 'PACKET_SCHEMA_INVALID');
  const foreigner = validForeignerPacket(env.now);
  await authentic('foreigner without residence permit', mutated(foreigner, (p) => delete p.demographics.residencePermitNumber), 'PACKET_SCHEMA_INVALID');
  await authentic('NEW packet with a UIN', mutated(good, (p) => (p.uin = '2345678901')), 'PACKET_SCHEMA_INVALID');
  await authentic('UPDATE packet without a UIN', mutated(good, (p) => (p.packetType = 'UPDATE')), 'PACKET_SCHEMA_INVALID');
}

/** Authentic and well-formed, but with impossible dates, unknown places, low quality or another device. */
async function implausible(env: PacketTestEnv, k: CorpusKit): Promise<void> {
  const { cases, authentic, good } = k;
  const minutesFromNow = (m: number) => new Date(env.now.getTime() + m * 60_000).toISOString();
  await authentic('date of birth on February 30', mutated(good, (p) => (p.demographics.dateOfBirth = '2023-02-30')), 'PACKET_IMPOSSIBLE_DATE');
  await authentic('date of birth in month 13', mutated(good, (p) => (p.demographics.dateOfBirth = '2001-13-01')), 'PACKET_IMPOSSIBLE_DATE');
  const nextYear = `${env.now.getUTCFullYear() + 1}-01-01`;
  await authentic('date of birth in the future', mutated(good, (p) => (p.demographics.dateOfBirth = nextYear)), 'PACKET_IMPOSSIBLE_DATE');
  await authentic('date of birth before 1900', mutated(good, (p) => (p.demographics.dateOfBirth = '1899-12-31')), 'PACKET_IMPOSSIBLE_DATE');
  const captured = (start: number, end: number) => mutated(good, (p) => (p.capture = { startedAt: minutesFromNow(start), completedAt: minutesFromNow(end) }));
  await authentic('capture ended before it started', captured(-10, -20), 'PACKET_IMPOSSIBLE_DATE');
  await authentic('capture in the future', captured(50, 60), 'PACKET_IMPOSSIBLE_DATE');
  await authentic('capture timestamp on February 30', mutated(good, (p) => (p.capture.startedAt = '2024-02-30T10:00:00Z')), 'PACKET_IMPOSSIBLE_DATE');
  await authentic(
    'born after the capture',
    mutated(good, (p) => {
      p.capture = { startedAt: '2024-03-01T09:00:00Z', completedAt: '2024-03-01T09:10:00Z' };
      p.demographics.dateOfBirth = '2024-03-02';
    }),
    'PACKET_IMPOSSIBLE_DATE',
  );
  // The device cannot have numbered or captured a packet before it was certified, nor later than now.
  const withRegIdDated = (stamp: string) => ({ ...good, regId: `10031-${String(90_000 + cases.length).padStart(5, '0')}-${stamp}` });
  const unrecorded = async (name: string, content: unknown, expectedCode: ErrorCode) =>
    cases.push({ name, body: await env.seal(content), expectedCode, authenticated: true, packetHash: packetHashOf(content) });
  const stampOf = (t: Date) => t.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  await unrecorded('regId dated 1970', withRegIdDated('19700101000000'), 'PACKET_REG_ID_IMPLAUSIBLE');
  await unrecorded('regId dated 2099', withRegIdDated('20990101000000'), 'PACKET_REG_ID_IMPLAUSIBLE');
  await unrecorded('regId dated 99999999999999', withRegIdDated('99999999999999'), 'PACKET_REG_ID_IMPLAUSIBLE');
  await unrecorded('regId dated February 30', withRegIdDated(`${env.now.getUTCFullYear()}0230120000`), 'PACKET_REG_ID_IMPLAUSIBLE');
  await unrecorded('regId dated at hour 25', withRegIdDated(`${stampOf(env.now).slice(0, 8)}250000`), 'PACKET_REG_ID_IMPLAUSIBLE');
  await unrecorded('regId dated before the device was certified', withRegIdDated(stampOf(daysFrom(env.now, -45))), 'PACKET_REG_ID_IMPLAUSIBLE');
  await unrecorded('regId dated an hour ahead', withRegIdDated(stampOf(new Date(env.now.getTime() + 3_600_000))), 'PACKET_REG_ID_IMPLAUSIBLE');
  const before = daysFrom(env.now, -45);
  await authentic(
    'captured before the device was certified',
    mutated(good, (p) => (p.capture = { startedAt: before.toISOString(), completedAt: new Date(before.getTime() + 600_000).toISOString() })),
    'PACKET_CAPTURED_BEFORE_CERTIFICATE',
  );
  await authentic('address in an unknown district', mutated(good, (p) => (p.demographics.address.district = 'Luanda')), 'PACKET_UNKNOWN_ADMIN_UNIT');
  await authentic('district spelt without accents', mutated(good, (p) => (p.demographics.address.district = 'Agua Grande')), 'PACKET_UNKNOWN_ADMIN_UNIT');
  await authentic('unknown place of birth', mutated(good, (p) => (p.demographics.placeOfBirth = 'Lisboa')), 'PACKET_UNKNOWN_ADMIN_UNIT');
  await authentic('biometric quality below the threshold', mutated(good, (p) => (p.biometrics[1].quality = 39)), 'PACKET_QUALITY_TOO_LOW');
  await authentic('packet names another device than its signer', mutated(good, (p) => (p.deviceId = 'dev-00777')), 'PACKET_SIGNER_MISMATCH');
  await authentic('another device signs a packet naming this one', validPacket({}, env.now), 'PACKET_SIGNER_MISMATCH', env.otherDevice);
}

/** At least 45 packets the intake must refuse, each with the code it must refuse them with. */
export async function buildHostileCorpus(env: PacketTestEnv): Promise<HostileCase[]> {
  const k = await corpusKit(env);
  for (const section of [notAJwe, notForTheIntake, untrustedOrForged, notAPacket, implausible]) await section(env, k);
  return k.cases;
}

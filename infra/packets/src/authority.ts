import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its own modules
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, importJWK, importPKCS8, type JWK } from 'jose';
import { CENTRE_ID_PATTERN } from './reg-id.js';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Registration clients sign packets; the intake only opens what the intake key can decrypt. */
export const PACKET_SIGNATURE_ALG = 'ES256';
export const PACKET_KEY_MANAGEMENT_ALG = 'ECDH-ES+A256KW';
export const PACKET_CONTENT_ENCRYPTION = 'A256GCM';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDH_P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The CA that certifies registration-client devices. */
export interface RegistrationAuthority {
  certificate: x509.X509Certificate;
  certificatePem: string;
  keys: CryptoKeyPair;
}

/** A registration client: its signing key and the certificate naming it (CN = deviceId). */
export interface DeviceCredentials {
  deviceId: string;
  centreId: string;
  certificate: x509.X509Certificate;
  certificatePem: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** The platform's packet-encryption key pair; registration clients hold only the public half. */
export interface IntakeKey {
  kid: string;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

export interface AuthorityOptions {
  name?: string;
  validDays?: number;
  notBefore?: Date;
  notAfter?: Date;
}

export interface DeviceCertificateOptions {
  deviceId: string;
  centreId: string;
  notBefore?: Date;
  notAfter?: Date;
  validDays?: number;
  /** Certify a key pair made elsewhere (on the device itself) instead of generating one. */
  keys?: CryptoKeyPair;
}

function validity(notBefore: Date | undefined, notAfter: Date | undefined, days: number): { notBefore: Date; notAfter: Date } {
  // Back-dated a little so a certificate issued now is valid on a machine whose clock lags.
  const from = notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore: from, notAfter: notAfter ?? new Date(from.getTime() + days * DAY_MS) };
}

export async function createRegistrationAuthority(options: AuthorityOptions = {}): Promise<RegistrationAuthority> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [options.name ?? 'Registo Registration Client CA'] }, { O: ['Registo'] }],
    keys,
    signingAlgorithm: SIGNING,
    ...validity(options.notBefore, options.notAfter, options.validDays ?? 3650),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, certificatePem: certificate.toString('pem'), keys };
}

export async function issueDeviceCertificate(
  ca: Pick<RegistrationAuthority, 'certificate' | 'keys'>,
  options: DeviceCertificateOptions,
): Promise<DeviceCredentials> {
  if (!DEVICE_ID.test(options.deviceId)) throw new TypeError(`device id '${options.deviceId}' is not an identifier`);
  if (!CENTRE_ID_PATTERN.test(options.centreId)) throw new TypeError(`centre '${options.centreId}' is not a five-digit centre code`);
  const keys = options.keys ?? ((await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [options.deviceId] }, { OU: [options.centreId] }, { O: ['Registo registration clients'] }],
    issuer: ca.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING,
    ...validity(options.notBefore, options.notAfter, options.validDays ?? 730),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return {
    deviceId: options.deviceId,
    centreId: options.centreId,
    certificate,
    certificatePem: certificate.toString('pem'),
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
  };
}

/** A fresh intake key; its `kid` defaults to the RFC 7638 thumbprint of the public key. */
export async function generateIntakeKey(kid?: string): Promise<IntakeKey> {
  const keys = (await webcrypto.subtle.generateKey(ECDH_P256, true, ['deriveBits'])) as CryptoKeyPair;
  return { kid: kid ?? (await calculateJwkThumbprint(await exportJWK(keys.publicKey))), ...keys };
}

// ---- PEM and JWK, so keys and certificates can live in files and environment variables ----

export function parseCertificatePem(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

/** PKCS#8 PEM of any private key made here. */
export function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return exportPKCS8(key);
}

export async function exportRegistrationAuthority(ca: RegistrationAuthority): Promise<{ certificatePem: string; privateKeyPem: string }> {
  return { certificatePem: ca.certificatePem, privateKeyPem: await exportPrivateKeyPem(ca.keys.privateKey) };
}

export async function importRegistrationAuthority(pems: { certificatePem: string; privateKeyPem: string }): Promise<RegistrationAuthority> {
  const certificate = parseCertificatePem(pems.certificatePem);
  const privateKey = await importPKCS8(pems.privateKeyPem, PACKET_SIGNATURE_ALG, { extractable: true });
  const publicKey = await certificate.publicKey.export(ECDSA_P256, ['verify'], webcrypto);
  return { certificate, certificatePem: certificate.toString('pem'), keys: { privateKey, publicKey } };
}

export async function exportDeviceCredentials(device: DeviceCredentials): Promise<{ certificatePem: string; privateKeyPem: string }> {
  return { certificatePem: device.certificatePem, privateKeyPem: await exportPrivateKeyPem(device.privateKey) };
}

/** Device id and centre come from the certificate (CN and OU), as the intake will read them. */
export async function importDeviceCredentials(pems: { certificatePem: string; privateKeyPem: string }): Promise<DeviceCredentials> {
  const certificate = parseCertificatePem(pems.certificatePem);
  const privateKey = await importPKCS8(pems.privateKeyPem, PACKET_SIGNATURE_ALG, { extractable: true });
  const publicKey = await certificate.publicKey.export(ECDSA_P256, ['verify'], webcrypto);
  return {
    deviceId: certificate.subjectName.getField('CN')[0] ?? '',
    centreId: certificate.subjectName.getField('OU')[0] ?? '',
    certificate,
    certificatePem: certificate.toString('pem'),
    privateKey,
    publicKey,
  };
}

/** The private intake key as one JWK (with `kid`, `alg`, `use`): one environment variable. */
export async function exportIntakeKeyJwk(key: IntakeKey): Promise<JWK> {
  return { ...(await exportJWK(key.privateKey)), kid: key.kid, alg: PACKET_KEY_MANAGEMENT_ALG, use: 'enc' };
}

/** What registration clients are given: the public half only. */
export async function exportIntakePublicJwk(key: Pick<IntakeKey, 'kid' | 'publicKey'>): Promise<JWK> {
  return { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: PACKET_KEY_MANAGEMENT_ALG, use: 'enc' };
}

export async function importIntakeKeyJwk(jwk: JWK): Promise<IntakeKey> {
  if (typeof jwk.d !== 'string') throw new TypeError('the intake key JWK has no private part (d)');
  const { d: _private, ...publicJwk } = jwk;
  const { kid, publicKey } = await importIntakePublicJwk(publicJwk);
  const privateKey = (await importJWK({ ...jwk, key_ops: undefined, ext: true }, PACKET_KEY_MANAGEMENT_ALG)) as CryptoKey;
  return { kid, publicKey, privateKey };
}

export async function importIntakePublicJwk(jwk: JWK): Promise<{ kid: string; publicKey: CryptoKey }> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new TypeError('the intake key must be an EC P-256 JWK');
  const publicKey = (await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, ext: true }, PACKET_KEY_MANAGEMENT_ALG)) as CryptoKey;
  return { kid: jwk.kid ?? (await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y })), publicKey };
}

/** The intake key from a PKCS#8 PEM (the `kid` is the public key's thumbprint unless given). */
export async function importIntakeKeyPem(privateKeyPem: string, kid?: string): Promise<IntakeKey> {
  const privateKey = await importPKCS8(privateKeyPem, PACKET_KEY_MANAGEMENT_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return importIntakeKeyJwk({ ...jwk, ...(kid === undefined ? {} : { kid }) });
}

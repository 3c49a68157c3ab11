import { readVariables } from '@registo/base';
import { RegistoError } from '@registo/schemas';
import type { SignerMode } from '@registo/hsm';
import {
  type CertificateExtensionsSpec,
  type DistinguishedName,
  ID_KP_OCSP_SIGNING,
  ID_KP_TIME_STAMPING,
  KeyUsageFlags,
  POLICY_OIDS,
} from './certificates.js';

/** The keys of the hierarchy, by what they do. */
export type TrustRole = 'root_ca' | 'identity_ca' | 'ocsp_signer' | 'tsa_signer' | 'checkpoint_signer';
export const TRUST_ROLES: readonly TrustRole[] = ['root_ca', 'identity_ca', 'ocsp_signer', 'tsa_signer', 'checkpoint_signer'];

export interface TrustKeySpec {
  role: TrustRole;
  /** CKA_LABEL on the token; the name of the software key otherwise. */
  label: string;
  /** The role whose key signs this certificate (itself for the root). */
  issuer: TrustRole;
  /** File name of the certificate (PEM) in the trust folder. */
  file: string;
  /** Common name; non-qualified certificates say so in it too. */
  commonName: string;
  /** Short name used in URLs (`/crl/<name>.crl`) for a CA. */
  urlName?: string;
  validityDays: number;
}

/**
 * The hierarchy: the root certifies only the identity issuing CA; the identity CA certifies the
 * OCSP, TSA and checkpoint signers. The OCSP signer must be issued by the CA whose certificates it
 * answers for (RFC 6960 §4.2.2.2, delegated responder), and keeping the root to intermediates lets
 * it stay offline between ceremonies.
 */
export const TRUST_KEYS: readonly TrustKeySpec[] = [
  { role: 'root_ca', label: 'registo-root-ca', issuer: 'root_ca', file: 'root-ca.pem', commonName: 'Registo Root CA', urlName: 'root-ca', validityDays: 20 * 365 },
  { role: 'identity_ca', label: 'registo-identity-ca', issuer: 'root_ca', file: 'identity-ca.pem', commonName: 'Registo Identity CA', urlName: 'identity-ca', validityDays: 10 * 365 },
  { role: 'ocsp_signer', label: 'registo-ocsp', issuer: 'identity_ca', file: 'ocsp.pem', commonName: 'Registo OCSP Signer', validityDays: 2 * 365 },
  { role: 'tsa_signer', label: 'registo-tsa', issuer: 'identity_ca', file: 'tsa.pem', commonName: 'Registo Timestamp Authority', validityDays: 5 * 365 },
  { role: 'checkpoint_signer', label: 'registo-checkpoint', issuer: 'identity_ca', file: 'checkpoint.pem', commonName: 'Registo Checkpoint Signer', validityDays: 5 * 365 },
];

/** The key-encryption key (AES-256, on the token in qualified mode). */
export const KEK_LABEL = 'registo-kek';

/**
 * The identity side's HMAC-SHA256 keys, on the token in qualified mode (generic secrets, used with
 * CKM_SHA256_HMAC): the blind index of civil-registry numbers and the per-enrollment UIN draw. In
 * non_qualified mode they are the development key file's `indexKey` and `uinKey`.
 */
export const HMAC_KEYS = [
  { role: 'blind_index_key', label: 'registo-blind-index' },
  { role: 'uin_key', label: 'registo-uin' },
] as const;
export type HmacKeyRole = (typeof HMAC_KEYS)[number]['role'];

/**
 * The intake key enrollment packets are encrypted to (ECDH-ES+A256KW): in qualified mode an EC
 * P-256 pair in the token, derive only (CKM_ECDH1_DERIVE); the PKCS#11 decrypter uses it.
 */
export const INTAKE_KEY = { role: 'intake_key', label: 'registo-intake' } as const;

export function trustKey(role: TrustRole): TrustKeySpec {
  const spec = TRUST_KEYS.find((k) => k.role === role);
  if (!spec) throw new RegistoError('REQUEST_INVALID', `unknown trust role ${role}`);
  return spec;
}

/** Where relying parties fetch CRLs and ask OCSP: `REGISTO_PUBLIC_URL`, else derived from `HOST` and `PORT`. */
export interface TrustConfig {
  publicUrl: string;
}

const TRUST_VARIABLES = ['REGISTO_PUBLIC_URL', 'HOST', 'PORT'] as const;

/** Addresses that say "every interface" name no host a relying party could reach. */
const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/**
 * The public URL: `REGISTO_PUBLIC_URL` when set, else http://<HOST or 127.0.0.1>:<PORT>, so that a
 * platform started on another port does not sign the default port's URLs into its certificates.
 */
export function loadTrustConfig(env: NodeJS.ProcessEnv = process.env): TrustConfig {
  const { REGISTO_PUBLIC_URL: explicit, HOST: host, PORT: port } = readVariables(TRUST_VARIABLES, env);
  if (explicit !== undefined) return { publicUrl: explicit.replace(/\/+$/, '') };
  const name = host === undefined || UNSPECIFIED_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return { publicUrl: `http://${name}:${port}` };
}

export const crlUrl = (publicUrl: string, ca: string): string => `${publicUrl}/crl/${ca}.crl`;
export const ocspUrl = (publicUrl: string): string => `${publicUrl}/ocsp`;

export function subjectNameOf(spec: TrustKeySpec, mode: SignerMode): DistinguishedName {
  return [
    ['O', 'Registo'],
    ['OU', 'Trust Services'],
    ['CN', mode === 'qualified' ? spec.commonName : `${spec.commonName} (non-qualified)`],
  ];
}

/**
 * The extensions of each profile. Every certificate carries the policy OID of the signer mode;
 * certificates below the root name the issuer's CRL and the OCSP responder.
 */
export function profileOf(role: TrustRole, mode: SignerMode, publicUrl: string): CertificateExtensionsSpec {
  const policies = [POLICY_OIDS[mode]];
  const issuedBy = (issuer: TrustRole) => ({ crlDistributionPoints: [crlUrl(publicUrl, trustKey(issuer).urlName!)] });
  switch (role) {
    case 'root_ca':
      return { ca: { pathLength: 1 }, keyUsage: KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, policies };
    case 'identity_ca':
      return { ca: { pathLength: 0 }, keyUsage: KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, policies, ...issuedBy('root_ca'), ocspUrls: [ocspUrl(publicUrl)] };
    case 'ocsp_signer':
      // Its own status is not asked of itself (id-pkix-ocsp-nocheck); no OCSP URL then.
      return {
        ca: false,
        keyUsage: KeyUsageFlags.digitalSignature,
        extendedKeyUsage: { purposes: [ID_KP_OCSP_SIGNING] },
        ocspNoCheck: true,
        policies,
        ...issuedBy('identity_ca'),
      };
    case 'tsa_signer':
      // RFC 3161 §2.3: the only extended key usage, and critical.
      return {
        ca: false,
        keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation,
        extendedKeyUsage: { purposes: [ID_KP_TIME_STAMPING], critical: true },
        policies,
        ...issuedBy('identity_ca'),
        ocspUrls: [ocspUrl(publicUrl)],
      };
    case 'checkpoint_signer':
      return { ca: false, keyUsage: KeyUsageFlags.digitalSignature, policies, ...issuedBy('identity_ca'), ocspUrls: [ocspUrl(publicUrl)] };
  }
}

import { X509Certificate, createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, errors as joseErrors } from 'jose';
import { RegistoError } from '@registo/schemas';
import type { Signer, SignerMode } from '@registo/hsm';
import { decodeBase64Strict } from '@registo/crypto';
import { parseStrictJson } from '@registo/base';

/*
 * Verifiable credentials as JWTs (W3C VC Data Model 2.0 secured with JOSE, `typ: vc+jwt`),
 * ES256. The payload is the credential itself, plus the registered JWT claims (iss, sub, jti,
 * iat, nbf, exp) so that a relying party's generic JWT library checks validity too. The signature
 * is made through the `Signer` port (`signRaw`: r‖s), so the key may stay in the HSM.
 */
export const VC_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** Placeholder context naming Registo's terms (the credential types, its attributes, `signerMode`). */
export const REGISTO_CONTEXT = 'https://registo.st/contexts/credentials/v1';
export const VC_JWT_TYP = 'vc+jwt';

export interface VcIssuerKey {
  signer: Signer;
  /** The identity CA's certificate (DER): the key that signs, in `x5c[0]`. */
  certificateDer: Buffer;
  /** The rest of the chain up to the root (DER), in `x5c` after it. */
  chainDer: Buffer[];
}

const b64u = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

const kidCache = new WeakMap<Buffer, Promise<string>>();
/** RFC 7638 thumbprint of the certificate's key: the JWS `kid` (kept per certificate buffer). */
async function kidFor(certificateDer: Buffer): Promise<string> {
  let k = kidCache.get(certificateDer);
  if (!k) {
    const spki = new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
    k = calculateJwkThumbprint(createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Parameters<typeof calculateJwkThumbprint>[0]);
    kidCache.set(certificateDer, k);
  }
  return k;
}

/** Signs `payload` as a compact JWS with header { alg: ES256, typ: vc+jwt, kid, x5c }. */
export async function signVcJwt(key: VcIssuerKey, payload: Record<string, unknown>): Promise<string> {
  if (!key.signer.signRaw) throw new RegistoError('CONFIG_INVALID', `signer ${key.signer.keyLabel} cannot make raw (JOSE) signatures`);
  const header = { alg: 'ES256', typ: VC_JWT_TYP, kid: await kidFor(key.certificateDer), x5c: [key.certificateDer, ...key.chainDer].map((d) => d.toString('base64')) };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const signature = await key.signer.signRaw(Buffer.from(input, 'ascii'));
  return `${input}.${b64u(signature)}`;
}

export interface VcSubjectInput {
  credentialId: string;
  credentialType: string;
  publicUrl: string;
  issuerName: string;
  subjectId: string;
  claims: Record<string, string>;
  issuedAt: Date;
  expiresAt: Date;
  signerMode: SignerMode;
  credentialStatus?: unknown[];
}

export const credentialUrn = (credentialId: string): string => `urn:registo:credential:${credentialId}`;
export const holderUrn = (uin: string): string => `urn:registo:uin:${uin}`;

/** The credential a VC JWT carries (its payload). */
export function vcPayload(input: VcSubjectInput): Record<string, unknown> {
  const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
  return {
    '@context': [VC_CONTEXT, REGISTO_CONTEXT],
    id: credentialUrn(input.credentialId),
    type: ['VerifiableCredential', input.credentialType],
    issuer: { id: input.publicUrl, name: input.issuerName },
    validFrom: input.issuedAt.toISOString(),
    validUntil: input.expiresAt.toISOString(),
    credentialSubject: { id: input.subjectId, ...input.claims },
    ...(input.credentialStatus ? { credentialStatus: input.credentialStatus } : {}),
    // How the signing key is held, on the artifact itself (non_qualified: software keys).
    signerMode: input.signerMode,
    iss: input.publicUrl,
    sub: input.subjectId,
    jti: credentialUrn(input.credentialId),
    iat: seconds(input.issuedAt),
    nbf: seconds(input.issuedAt),
    exp: seconds(input.expiresAt),
  };
}

/** Why a credential is not valid. The first three are about who signed it; the rest about when and its status. */
export type VcProblemCode = 'ISSUER_UNTRUSTED' | 'SIGNATURE_INVALID' | 'TYPE_UNSUPPORTED' | 'NOT_YET_VALID' | 'EXPIRED';

export interface VcProblem {
  code: VcProblemCode | string;
  message: string;
}

export interface VcVerification {
  /** Signed by a key the trust anchors vouch for, and the signature holds. */
  signatureValid: boolean;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  problems: VcProblem[];
}

export interface VcTrustAnchors {
  /** The identity CA that issues credentials. */
  identityCa: X509Certificate;
  /** The root that certifies it. */
  root: X509Certificate;
}

function malformed(message: string): RegistoError {
  return new RegistoError('CREDENTIAL_MALFORMED', message);
}

/** Splits and decodes without trusting anything: a typed error when it is not a JWT at all. */
export function decodeVcJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  if (typeof jwt !== 'string' || jwt.length === 0) throw malformed('the credential is empty');
  if (jwt.length > 64 * 1024) throw malformed('the credential is longer than 64 KiB');
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw malformed('not a compact JWS: three base64url parts separated by dots');
  let header: unknown;
  let payload: unknown;
  try {
    // Strict JSON: a header naming `alg` twice, or claims given twice, are not one credential.
    header = parseStrictJson(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    payload = parseStrictJson(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw malformed('the JWT header or payload is not base64url strict JSON (a key twice is refused)');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw malformed('the JWT header is not a JSON object');
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw malformed('the JWT payload is not a JSON object');
  return { header: header as Record<string, unknown>, payload: payload as Record<string, unknown> };
}

/** The certificate whose key must have signed: x5c[0] when given, else the identity CA named by `kid`. */
async function signingCertificate(header: Record<string, unknown>, anchors: VcTrustAnchors, now: Date): Promise<{ cert: X509Certificate } | { problem: VcProblem }> {
  const x5c = header.x5c;
  if (x5c !== undefined) {
    if (!Array.isArray(x5c) || x5c.length === 0 || typeof x5c[0] !== 'string') return { problem: { code: 'ISSUER_UNTRUSTED', message: 'x5c is not a list of certificates' } };
    const der = decodeBase64Strict(x5c[0]);
    if (!der) return { problem: { code: 'ISSUER_UNTRUSTED', message: 'x5c[0] is not canonical base64' } };
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      return { problem: { code: 'ISSUER_UNTRUSTED', message: 'x5c[0] is not a certificate' } };
    }
    if (cert.raw.equals(anchors.identityCa.raw)) return { cert };
    // Another certificate under our root (a renewed identity CA): certified by the root and a CA itself.
    const fromRoot = cert.checkIssued(anchors.root) && cert.verify(anchors.root.publicKey) && cert.ca;
    const inDate = new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
    if (fromRoot && inDate) return { cert };
    return { problem: { code: 'ISSUER_UNTRUSTED', message: `signed by ${cert.subject.replace(/\n/g, ', ')}, which does not chain to the Registo root` } };
  }
  if (header.kid === (await kidFor(anchors.identityCa.raw))) return { cert: anchors.identityCa };
  return { problem: { code: 'ISSUER_UNTRUSTED', message: 'neither x5c nor a kid of the Registo identity CA' } };
}

/**
 * Checks who signed a VC JWT and when it is valid. Throws `CREDENTIAL_MALFORMED` only when the
 * input is not a JWT; a JWT that fails is answered with its problems (status is the caller's).
 */
export async function verifyVcJwt(jwt: string, anchors: VcTrustAnchors, now = new Date()): Promise<VcVerification> {
  const { header, payload } = decodeVcJwt(jwt);
  const problems: VcProblem[] = [];
  let signatureValid = false;
  if (header.alg !== 'ES256') problems.push({ code: 'SIGNATURE_INVALID', message: `alg ${String(header.alg)} is not ES256` });
  else {
    const found = await signingCertificate(header, anchors, now);
    if ('problem' in found) problems.push(found.problem);
    else {
      try {
        await compactVerify(jwt, found.cert.publicKey, { algorithms: ['ES256'] });
        signatureValid = true;
      } catch (e) {
        if (!(e instanceof joseErrors.JOSEError)) throw e;
        problems.push({ code: 'SIGNATURE_INVALID', message: 'the signature does not verify with the issuer key' });
      }
    }
  }
  if (header.typ !== VC_JWT_TYP) problems.push({ code: 'TYPE_UNSUPPORTED', message: `typ ${String(header.typ)} is not ${VC_JWT_TYP}` });
  const types = payload.type;
  if (!Array.isArray(types) || !types.includes('VerifiableCredential')) problems.push({ code: 'TYPE_UNSUPPORTED', message: 'not a VerifiableCredential' });
  const t = now.getTime() / 1000;
  const from = typeof payload.nbf === 'number' ? payload.nbf : Date.parse(String(payload.validFrom)) / 1000;
  const until = typeof payload.exp === 'number' ? payload.exp : Date.parse(String(payload.validUntil)) / 1000;
  if (!Number.isFinite(from) || t < from) problems.push({ code: 'NOT_YET_VALID', message: `not valid before ${String(payload.validFrom)}` });
  if (!Number.isFinite(until) || t >= until) problems.push({ code: 'EXPIRED', message: `expired at ${String(payload.validUntil)}` });
  return { signatureValid, header, payload, problems };
}

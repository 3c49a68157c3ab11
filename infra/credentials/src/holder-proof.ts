import { type KeyObject, createHash, createPublicKey, randomUUID } from 'node:crypto';
import { EmbeddedJWK, type JWK, SignJWT, exportJWK, jwtVerify } from 'jose';
import { RegistoError } from '@registo/schemas';

/*
 * The holder's proof of presence on the holder channel: a short-lived JWT signed by the holder's
 * own key (the card chip's or wallet's P-256 key, certified by a holder certificate), naming the
 * holder (UIN) and the one request it is for, in the manner of DPoP (RFC 9449). The channel's
 * bearer token says which system is calling; the proof says which holder is present.
 */

/** The HTTP header that carries the proof. */
export const HOLDER_PROOF_HEADER = 'registo-holder-proof';
export const HOLDER_PROOF_TYP = 'holder-proof+jwt';
/** How old a proof may be: long enough for a slow card, short enough not to be worth stealing. */
export const HOLDER_PROOF_MAX_AGE_SECONDS = 300;
/** How far the holder's clock may be off ours (a proof dated this much in the future still counts). */
const CLOCK_SKEW_SECONDS = 30;

export interface HolderProofRequest {
  uin: string;
  /** The HTTP method and the path (no query) of the request the proof is for. */
  method: string;
  path: string;
}

export interface VerifiedHolderProof {
  uin: string;
  /** SHA-256 (hex) of the proof key's SubjectPublicKeyInfo, as holder certificate ids and CSR causes use it. */
  publicKeySha256: string;
  jti: string;
  /** Seconds since the epoch: until when the proof could be replayed, were its jti not remembered. */
  expiresAt: number;
}

const invalid = (message: string): RegistoError => new RegistoError('HOLDER_PROOF_INVALID', message);

/** SHA-256 hex of a public key's DER SubjectPublicKeyInfo. */
export function publicKeySha256(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The proof for one request, signed with the holder's private key (what a card or wallet does). */
export async function signHolderProof(privateKey: KeyObject, request: HolderProofRequest, now: Date = new Date()): Promise<string> {
  const jwk: JWK = await exportJWK(createPublicKey(privateKey));
  return new SignJWT({ htm: request.method.toUpperCase(), htu: request.path })
    .setProtectedHeader({ alg: 'ES256', typ: HOLDER_PROOF_TYP, jwk })
    .setSubject(request.uin)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setJti(randomUUID())
    .sign(privateKey);
}

/**
 * Checks a proof's signature with its embedded P-256 key, its type, age and that it names this
 * request; returns whom it names and which key signed it. Whether that key is the holder's is
 * not decided here (the credential decider's `holderAccess`).
 */
export async function verifyHolderProof(proof: string, expected: Omit<HolderProofRequest, 'uin'>, now: Date = new Date()): Promise<VerifiedHolderProof> {
  if (proof.length > 4096) throw invalid('the holder proof is too long');
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: ['ES256'],
      typ: HOLDER_PROOF_TYP,
      currentDate: now,
      maxTokenAge: HOLDER_PROOF_MAX_AGE_SECONDS,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['sub', 'iat', 'jti', 'htm', 'htu'],
    });
  } catch (e) {
    // jose's codes say which check failed (ERR_JWS_INVALID, ERR_JWT_EXPIRED, …) without quoting the token.
    throw invalid(`the holder proof does not verify (${(e as { code?: string }).code ?? 'ERR_JOSE'})`);
  }
  const { payload, protectedHeader } = verified;
  if (payload.htm !== expected.method.toUpperCase() || payload.htu !== expected.path) throw invalid('the holder proof is for another request');
  if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || payload.jti.length > 200) throw invalid('the holder proof names no holder or no jti');
  // The embedded key, once more as a KeyObject, for its digest (jose checked it is a public EC key for ES256).
  const key = createPublicKey({ key: protectedHeader.jwk as JWK & { kty: 'EC' }, format: 'jwk' });
  return { uin: payload.sub, publicKeySha256: publicKeySha256(key), jti: payload.jti, expiresAt: payload.iat! + HOLDER_PROOF_MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS };
}

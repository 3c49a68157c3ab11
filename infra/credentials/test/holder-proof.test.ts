import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { SignJWT, exportJWK } from 'jose';
import { isRegistoError } from '@registo/schemas';
import { HOLDER_PROOF_TYP, publicKeySha256, signHolderProof, verifyHolderProof } from '../src/index.js';

const uin = '2345678901';
const request = { method: 'GET', path: `/v1/holders/${uin}/credentials` };
const now = new Date('2026-12-03T10:00:00.000Z');
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** The refusal's message, or 'verified'. */
async function outcome(proof: string, expected = request, at = now): Promise<string> {
  try {
    await verifyHolderProof(proof, expected, at);
    return 'verified';
  } catch (e) {
    if (isRegistoError(e, 'HOLDER_PROOF_INVALID')) return e.message;
    throw e;
  }
}

describe('holder proof (Registo-Holder-Proof): an ES256 JWT by the holder key, for one request, now', () => {
  it('verifies a proof and names the holder and the SubjectPublicKeyInfo digest of the key that signed it', async () => {
    const key = p256();
    const proof = await signHolderProof(key, { uin, ...request }, now);
    const verified = await verifyHolderProof(proof, request, now);
    expect(verified).to.include({ uin, publicKeySha256: publicKeySha256(createPublicKey(key)) });
    expect(verified.jti).to.match(/^[0-9a-f-]{36}$/);
    expect(verified.expiresAt).to.be.greaterThan(now.getTime() / 1000);
  });

  it('refuses a proof for another method or path, too old, or too far in the future', async () => {
    const key = p256();
    const proof = await signHolderProof(key, { uin, ...request }, now);
    expect(await outcome(proof, { method: 'POST', path: request.path })).to.match(/another request/);
    expect(await outcome(proof, { method: 'GET', path: `${request.path}/x509` })).to.match(/another request/);
    // 300 s of age plus 30 s of clock skew, either way.
    expect(await outcome(proof, request, new Date(now.getTime() + 331_000))).to.match(/does not verify/);
    expect(await outcome(proof, request, new Date(now.getTime() - 31_000))).to.match(/does not verify/);
    expect(await outcome(proof, request, new Date(now.getTime() + 299_000))).to.equal('verified');
    expect(await outcome(proof, request, new Date(now.getTime() - 29_000))).to.equal('verified');
  });

  it('refuses other algorithms, other types, keys other than a public P-256 key, altered claims and garbage', async () => {
    const key = p256();
    const jwk = await exportJWK(createPublicKey(key));
    const iat = Math.floor(now.getTime() / 1000);
    const claims = { sub: uin, htm: 'GET', htu: request.path, jti: 'j-1', iat };
    const signed = (header: Record<string, unknown>, signingKey = key, body: Record<string, unknown> = claims) =>
      new SignJWT(body).setProtectedHeader({ alg: 'ES256', ...header }).sign(signingKey);
    // The same claims and key as a good proof, but a different type, no type, no key in the header.
    expect(await outcome(await signed({ typ: HOLDER_PROOF_TYP, jwk }))).to.equal('verified');
    expect(await outcome(await signed({ typ: 'JWT', jwk }))).to.match(/does not verify/);
    expect(await outcome(await signed({ jwk }))).to.match(/does not verify/);
    expect(await outcome(await signed({ typ: HOLDER_PROOF_TYP }))).to.match(/does not verify/);
    // The header names another key than the one that signed.
    expect(await outcome(await signed({ typ: HOLDER_PROOF_TYP, jwk: await exportJWK(createPublicKey(p256())) }))).to.match(/does not verify/);
    // The private key itself in the header.
    expect(await outcome(await signed({ typ: HOLDER_PROOF_TYP, jwk: await exportJWK(key) }))).to.match(/does not verify/);
    // Other curves and algorithms.
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const es384 = await new SignJWT(claims).setProtectedHeader({ alg: 'ES384', typ: HOLDER_PROOF_TYP, jwk: await exportJWK(createPublicKey(p384)) }).sign(p384);
    expect(await outcome(es384)).to.match(/does not verify/);
    const ed = generateKeyPairSync('ed25519').privateKey;
    const eddsa = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: HOLDER_PROOF_TYP, jwk: await exportJWK(createPublicKey(ed)) }).sign(ed);
    expect(await outcome(eddsa)).to.match(/does not verify/);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: HOLDER_PROOF_TYP, jwk })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    expect(await outcome(unsigned)).to.match(/does not verify/);
    // Missing claims: no jti, no subject.
    const { jti: _j, ...noJti } = claims;
    expect(await outcome(await signed({ typ: HOLDER_PROOF_TYP, jwk }, key, noJti))).to.match(/does not verify/);
    const { sub: _s, ...noSub } = claims;
    expect(await outcome(await signed({ typ: HOLDER_PROOF_TYP, jwk }, key, noSub))).to.match(/does not verify/);
    for (const garbage of ['', 'a.b.c', 'not a jwt', 'x'.repeat(5000)]) expect(await outcome(garbage), garbage.slice(0, 10)).to.not.equal('verified');
  });

  it('never quotes the proof or its claims in a refusal', async () => {
    const proof = await signHolderProof(p256(), { uin, ...request }, now);
    for (const message of [await outcome(proof, { method: 'PUT', path: '/elsewhere' }), await outcome(`${proof}x`)]) {
      expect(message).to.not.include(uin);
      expect(message).to.not.include(proof.slice(0, 20));
    }
  });
});

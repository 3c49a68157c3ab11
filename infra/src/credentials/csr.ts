import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its own modules
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { RegistoError } from '@registo/schemas';

x509.cryptoProvider.set(webcrypto);

export interface HolderCsr {
  der: Buffer;
  /** The requested SubjectPublicKeyInfo (DER). */
  publicKeySpki: Buffer;
  /** Hex SHA-256 of the requested SubjectPublicKeyInfo: one credential per holder key. */
  publicKeySha256: string;
}

const MAX_CSR = 16 * 1024;

function csrBytes(input: string): Buffer {
  const text = input.trim();
  const pem = /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (NEW )?CERTIFICATE REQUEST-----$/.exec(text);
  const body = pem ? pem[2]!.replace(/\s+/g, '') : text;
  if (!/^[A-Za-z0-9+/=_-]+$/.test(body)) throw new RegistoError('CSR_INVALID', 'the CSR is neither PEM nor base64 DER');
  return Buffer.from(body, /[-_]/.test(body) ? 'base64url' : 'base64');
}

/**
 * Reads a holder's PKCS#10 request (PEM or base64 DER) and checks its proof of possession: the
 * request is signed by the private key of the public key it asks to certify. Only EC P-256.
 */
export async function parseHolderCsr(input: unknown): Promise<HolderCsr> {
  if (typeof input !== 'string' || input.length === 0) throw new RegistoError('CSR_INVALID', 'csr must be a PEM or base64 DER PKCS#10 request');
  if (input.length > MAX_CSR) throw new RegistoError('CSR_INVALID', `the CSR is longer than ${MAX_CSR} characters`);
  const der = csrBytes(input);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw new RegistoError('CSR_INVALID', `not a PKCS#10 certificate request: ${(e as Error).message}`);
  }
  const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') {
    throw new RegistoError('CSR_INVALID', `the holder key must be EC P-256, not ${alg.name ?? '?'} ${alg.namedCurve ?? ''}`.trim());
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new RegistoError('CSR_INVALID', 'the CSR signature does not verify with its own key: no proof of possession');
  const publicKeySpki = Buffer.from(csr.publicKey.rawData);
  return { der: Buffer.from(csr.rawData), publicKeySpki, publicKeySha256: createHash('sha256').update(publicKeySpki).digest('hex') };
}

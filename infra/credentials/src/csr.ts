import { createHash } from 'node:crypto';
import { RegistoError } from '@registo/schemas';
import { decodeBase64Strict, readPemStrict } from '@registo/crypto';
import { checkCsr } from '@registo/trust';

export interface HolderCsr {
  der: Buffer;
  /** The requested SubjectPublicKeyInfo (DER). */
  publicKeySpki: Buffer;
  /** Hex SHA-256 of the requested SubjectPublicKeyInfo: one credential per holder key. */
  publicKeySha256: string;
}

const MAX_CSR = 16 * 1024;

/** PEM (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST) or bare base64/base64url DER, read strictly: nothing before, inside or after it that is not the encoding. */
function csrBytes(input: string): Buffer {
  const text = input.trim();
  const der = text.startsWith('-----')
    ? readPemStrict(text, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'])
    : (decodeBase64Strict(text) ?? decodeBase64Strict(text, { urlSafe: true }));
  if (!der) throw new RegistoError('CSR_MALFORMED', 'the CSR is neither one PEM block nor canonical base64 DER', { reason: 'encoding' });
  return der;
}

/**
 * Reads a holder's PKCS#10 request as an API receives it (PEM or base64 DER) and checks it the
 * way the holder issuer does (`checkCsr`: structure, EC P-256 key, proof of possession), so that
 * the credential id can be derived from the key before anything is issued. Errors: CSR_MALFORMED,
 * CSR_SIGNATURE_INVALID, CSR_KEY_UNSUPPORTED, CSR_CURVE_UNSUPPORTED.
 */
export async function parseHolderCsr(input: unknown): Promise<HolderCsr> {
  if (typeof input !== 'string' || input.length === 0) throw new RegistoError('CSR_MALFORMED', 'csr must be a PEM or base64 DER PKCS#10 request', { reason: 'empty' });
  if (input.length > MAX_CSR) throw new RegistoError('CSR_MALFORMED', `the CSR is longer than ${MAX_CSR} characters`, { reason: 'too long' });
  const der = csrBytes(input);
  const checked = await checkCsr(der);
  const publicKeySpki = checked.subjectPublicKeyInfo;
  return { der, publicKeySpki, publicKeySha256: createHash('sha256').update(publicKeySpki).digest('hex') };
}

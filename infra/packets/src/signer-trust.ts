import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its own modules
import * as x509 from '@peculiar/x509';
import { sha256Hex } from '@registo/schemas';
import { packetError, type PacketErrorContext } from './compact.js';
import { CENTRE_ID_PATTERN } from './reg-id.js';

export interface PacketSigner {
  /** The certificate subject's CN: the registration client that signed. */
  deviceId: string;
  /** The certificate subject's OU: the registration centre the device speaks for. */
  centreId: string;
  /** The signer certificate's notBefore: nothing it signed can have been captured earlier. */
  certifiedFrom: Date;
  serialNumber: string;
  /** Hex SHA-256 of the certificate's DER. */
  fingerprint: string;
}

const MAX_PATH = 4;
const NOT_TRUSTED: PacketErrorContext = { authenticated: false };

function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

function mayCertify(cert: x509.X509Certificate): boolean {
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  return isCa(cert) && (usage === null || (usage.usages & x509.KeyUsageFlags.keyCertSign) !== 0);
}

async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (cert.issuer !== issuer.subject || !mayCertify(issuer)) return false;
  try {
    return await cert.verify({ publicKey: issuer, signatureOnly: true });
  } catch {
    return false; // a key or algorithm the library cannot use is as good as a wrong signature
  }
}

export function parseTrustedCas(pems: readonly string[]): x509.X509Certificate[] {
  return pems.map((pem) => new x509.X509Certificate(pem));
}

/**
 * Checks the signer certificate (`chain[0]`, with optional intermediates after it) against the
 * trusted registration-client CAs: first that the path exists (PACKET_SIGNER_UNTRUSTED), then
 * that every certificate on it is valid at `now` (PACKET_SIGNER_EXPIRED).
 */
export async function verifySignerChain(
  chain: readonly x509.X509Certificate[],
  trusted: readonly x509.X509Certificate[],
  now: Date,
): Promise<PacketSigner> {
  const [leaf, ...intermediates] = chain;
  if (!leaf) throw packetError('PACKET_MALFORMED', 'no signer certificate', NOT_TRUSTED);
  if (isCa(leaf)) throw packetError('PACKET_SIGNER_UNTRUSTED', 'a CA certificate may not sign packets', NOT_TRUSTED);
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  if (!usage || (usage.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw packetError('PACKET_SIGNER_UNTRUSTED', 'the signer certificate does not allow digital signatures', NOT_TRUSTED);
  }
  const cns = leaf.subjectName.getField('CN');
  if (cns.length !== 1 || !cns[0]) throw packetError('PACKET_SIGNER_UNTRUSTED', 'the signer certificate names no single device (CN)', NOT_TRUSTED);
  const centres = leaf.subjectName.getField('OU');
  if (centres.length !== 1 || !CENTRE_ID_PATTERN.test(centres[0] ?? '')) {
    throw packetError('PACKET_SIGNER_UNTRUSTED', 'the signer certificate names no single registration centre (OU)', NOT_TRUSTED);
  }

  // Walk up from the signer: stop at a trusted CA, or go through an intermediate sent in x5c.
  const path = [leaf];
  let anchored = false;
  while (!anchored && path.length <= MAX_PATH) {
    const current = path[path.length - 1]!;
    const anchor = await findAsync(trusted, (ca) => signedBy(current, ca));
    const next = anchor ?? (await findAsync(intermediates, (c) => (path.includes(c) ? Promise.resolve(false) : signedBy(current, c))));
    if (!next) break;
    path.push(next);
    anchored = anchor !== undefined;
  }
  if (!anchored) {
    throw packetError('PACKET_SIGNER_UNTRUSTED', `signer '${cns[0]}' does not chain to a trusted registration-client CA`, NOT_TRUSTED, {
      issuer: leaf.issuer,
    });
  }
  // A CA's pathLength bounds how many intermediates may sit below it (RFC 5280 §4.2.1.9).
  path.forEach((ca, i) => {
    const limit = ca.getExtension(x509.BasicConstraintsExtension)?.pathLength;
    if (i > 0 && limit !== undefined && i - 1 > limit) {
      throw packetError('PACKET_SIGNER_UNTRUSTED', `CA '${ca.subject}' may not have ${i - 1} intermediate(s) below it`, NOT_TRUSTED);
    }
  });
  for (const cert of path) {
    if (now < cert.notBefore || now > cert.notAfter) {
      const which = cert === leaf ? 'signer certificate' : `CA certificate '${cert.subject}'`;
      throw packetError('PACKET_SIGNER_EXPIRED', `${which} is not valid at ${now.toISOString()}`, NOT_TRUSTED, {
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
      });
    }
  }
  return { deviceId: cns[0], centreId: centres[0]!, certifiedFrom: leaf.notBefore, serialNumber: leaf.serialNumber, fingerprint: sha256Hex(new Uint8Array(leaf.rawData)) };
}

async function findAsync<T>(items: readonly T[], test: (item: T) => Promise<boolean>): Promise<T | undefined> {
  for (const item of items) if (await test(item)) return item;
  return undefined;
}

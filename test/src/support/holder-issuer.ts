import { X509Certificate, createHash } from 'node:crypto';
import {
  type HolderCertificateIssuer,
  type HolderCertificateRequest,
  type IssuedHolderCertificate,
  KeyUsageFlags,
  type TrustKeys,
  issueCertificate,
  normaliseSerialHex,
  parseHolderCsr,
} from '@registo/infra';

/**
 * A plain `HolderCertificateIssuer` over `issueCertificate` (the identity CA signs through the
 * Signer port): what the credential suites issue X.509 credentials with until the platform's fast
 * holder issuer (`createHolderCertificateIssuer`) is on main. It checks the CSR's proof of
 * possession and its key like the port requires.
 */
export function plainHolderCertificateIssuer(trust: TrustKeys): HolderCertificateIssuer {
  const ca = trust.certificates.identity_ca.x509;
  const issuerName = ca.subject.split('\n').map((line) => {
    const i = line.indexOf('=');
    return [line.slice(0, i), line.slice(i + 1)] as const;
  });
  return {
    mode: trust.mode,
    async issue(request: HolderCertificateRequest): Promise<IssuedHolderCertificate> {
      const csr = await parseHolderCsr(request.csrDer.toString('base64'));
      const spki = csr.publicKeySpki;
      const cert = await issueCertificate({
        issuerSigner: trust.signers.identity_ca,
        issuerName,
        subjectName: [['O', 'Registo'], ['CN', `UIN ${request.uin}`]],
        subjectPublicKeySpki: spki,
        serialNumber: request.serialNumber,
        notBefore: request.notBefore,
        notAfter: request.notAfter,
        ca: false,
        keyUsage: KeyUsageFlags.digitalSignature,
        policies: [trust.policyOid],
      });
      const x = new X509Certificate(cert.der);
      return {
        serialHex: normaliseSerialHex(x.serialNumber),
        certificateDer: cert.der,
        subjectPublicKeySha256: createHash('sha256').update(spki).digest('hex'),
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
      };
    },
  };
}

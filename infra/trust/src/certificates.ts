import { createHash, randomBytes } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  PolicyInformation,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_certificatePolicies,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_kp_OCSPSigning,
  id_kp_timeStamping,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { RegistoError, sha256Hex } from '@registo/schemas';
import type { Signer, SignerMode } from '@registo/hsm';
import { readPemStrict } from '@registo/crypto';

/*
 * How certificates get signed through the `Signer` port: the TBSCertificate is built with
 * @peculiar/asn1-x509 and DER-encoded here, the signer signs those exact bytes (ECDSA P-256 over
 * SHA-256, DER `ECDSA-Sig-Value`), and the Certificate SEQUENCE is assembled around them. Nothing
 * goes through WebCrypto, so the private key can stay inside a PKCS#11 token, no process-wide
 * crypto provider of @peculiar/x509 is replaced, and no CryptoKey has to be faked.
 */

/** ecdsa-with-SHA256 (RFC 5758): parameters absent. */
export const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ECDSA_WITH_SHA256_DER = Buffer.from('300a06082a8648ce3d040302', 'hex');
/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): value NULL. */
export const ID_PKIX_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
/** id-ad-ocsp, id-ad-caIssuers (RFC 5280 §4.2.2.1). */
export const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
export { id_kp_OCSPSigning as ID_KP_OCSP_SIGNING, id_kp_timeStamping as ID_KP_TIME_STAMPING };

/**
 * Certificate policies that say which signer mode stands behind a certificate. The arc
 * 1.3.6.1.4.1.99999 is a placeholder, to be replaced by the programme's registered private
 * enterprise number before anything is issued for real.
 */
export const POLICY_OIDS: Readonly<Record<SignerMode, string>> = {
  qualified: '1.3.6.1.4.1.99999.1.1',
  non_qualified: '1.3.6.1.4.1.99999.1.2',
};

// --- a little DER, for the three lines that assemble the Certificate -------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derTlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

// --- names ------------------------------------------------------------------------------------

/** Attribute types accepted in a distinguished name string. */
const NAME_ATTRIBUTES: Record<string, string> = {
  CN: '2.5.4.3',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
};

/** A distinguished name as a list of (type, value) in order, most significant first, e.g. `[['C','MZ'],['O','Registo'],['CN','Root']]`. */
export type DistinguishedName = ReadonlyArray<readonly [keyof typeof NAME_ATTRIBUTES | string, string]>;

export function encodeName(name: DistinguishedName): Name {
  return new Name(
    name.map(([type, value]) => {
      const oid = NAME_ATTRIBUTES[type.toUpperCase()];
      if (!oid) throw new RegistoError('REQUEST_INVALID', `unknown name attribute ${type}`, { type });
      // Country and serial number are PrintableString (RFC 5280 appendix A); the rest UTF8String.
      const attributeValue = oid === '2.5.4.6' || oid === '2.5.4.5' ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: oid, value: attributeValue })]);
    }),
  );
}

/** `C=MZ, O=Registo, CN=…` for display. */
export function formatName(name: DistinguishedName): string {
  return name.map(([type, value]) => `${type}=${value}`).join(', ');
}

// --- extensions -------------------------------------------------------------------------------

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifier(spki: Buffer): Buffer {
  const parsed = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  return createHash('sha1').update(Buffer.from(parsed.subjectPublicKey)).digest();
}

export interface CertificateExtensionsSpec {
  /** basicConstraints (critical): a CA, with its pathLen, or an end entity. */
  ca?: { pathLength?: number } | false;
  /** keyUsage bits (critical). */
  keyUsage: number;
  /** extendedKeyUsage purposes; `critical` defaults to false. */
  extendedKeyUsage?: { purposes: string[]; critical?: boolean };
  /** certificatePolicies: policy OIDs (non-critical). */
  policies?: string[];
  /** cRLDistributionPoints: full-name URIs. */
  crlDistributionPoints?: string[];
  /** authorityInfoAccess: OCSP responder URIs. */
  ocspUrls?: string[];
  /** id-pkix-ocsp-nocheck: a delegated OCSP responder's own status is not checked. */
  ocspNoCheck?: boolean;
}

export interface IssueCertificateOptions extends CertificateExtensionsSpec {
  /** Signs the certificate: the issuer's key (the subject's own for a self-signed one). */
  issuerSigner: Signer;
  issuerName: DistinguishedName;
  /** The issuer's public key (DER SPKI), for the authority key identifier; default the signer's. */
  issuerPublicKeySpki?: Buffer;
  subjectName: DistinguishedName;
  /** DER SubjectPublicKeyInfo of the key being certified. */
  subjectPublicKeySpki: Buffer;
  /** Big-endian unsigned bytes; default 16 random bytes (positive, non-zero first byte). */
  serialNumber?: Buffer;
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedCertificate {
  der: Buffer;
  pem: string;
  /** Hex, as openssl prints it (upper case, no separators). */
  serialNumber: string;
  /** Hex SHA-256 of the DER certificate. */
  sha256: string;
  notBefore: Date;
  notAfter: Date;
}

/** A random positive serial of 16 bytes (RFC 5280 allows up to 20; CA/B asks for ≥ 64 random bits). */
export function randomSerialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function fromPem(pem: string, label = 'CERTIFICATE'): Buffer {
  const der = readPemStrict(pem, label);
  if (!der) throw new RegistoError('REQUEST_INVALID', `not one strict PEM ${label} block`);
  return der;
}

/** The extensions `issueCertificate` writes, in its order (the holder-certificate template reuses them). */
export function buildExtensions(options: CertificateExtensionsSpec & { subjectPublicKeySpki: Buffer }, issuerSpki: Buffer): Extensions {
  const list: Extension[] = [];
  list.push(extension(id_ce_basicConstraints, true, options.ca ? new BasicConstraints({ cA: true, ...(options.ca.pathLength !== undefined ? { pathLenConstraint: options.ca.pathLength } : {}) }) : new BasicConstraints({ cA: false })));
  list.push(extension(id_ce_keyUsage, true, new KeyUsage(options.keyUsage)));
  if (options.extendedKeyUsage) list.push(extension(id_ce_extKeyUsage, options.extendedKeyUsage.critical ?? false, new ExtendedKeyUsage(options.extendedKeyUsage.purposes)));
  list.push(extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(options.subjectPublicKeySpki))));
  list.push(extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(issuerSpki)) })));
  if (options.policies?.length) list.push(extension(id_ce_certificatePolicies, false, new CertificatePolicies(options.policies.map((policyIdentifier) => new PolicyInformation({ policyIdentifier })))));
  if (options.crlDistributionPoints?.length) {
    list.push(
      extension(
        id_ce_cRLDistributionPoints,
        false,
        new CRLDistributionPoints(
          options.crlDistributionPoints.map(
            (uri) => new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: uri })] }) }),
          ),
        ),
      ),
    );
  }
  if (options.ocspUrls?.length) {
    list.push(
      extension(
        id_pe_authorityInfoAccess,
        false,
        new AuthorityInfoAccessSyntax(options.ocspUrls.map((uri) => new AccessDescription({ accessMethod: ID_AD_OCSP, accessLocation: new GeneralName({ uniformResourceIdentifier: uri }) }))),
      ),
    );
  }
  if (options.ocspNoCheck) list.push(new Extension({ extnID: ID_PKIX_OCSP_NOCHECK, critical: false, extnValue: new OctetString(Buffer.from([0x05, 0x00])) }));
  return new Extensions(list);
}

/**
 * An X.509 v3 certificate signed by `issuerSigner` (ECDSA P-256 / SHA-256): the TBSCertificate is
 * encoded here and its DER signed through the `Signer` port, so the issuer's key may live in an HSM.
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<IssuedCertificate> {
  if (!(options.notAfter > options.notBefore)) throw new RegistoError('REQUEST_INVALID', 'notAfter must be later than notBefore');
  const serial = options.serialNumber ?? randomSerialNumber();
  if (serial.length === 0 || serial.length > 20 || (serial[0]! & 0x80) !== 0) {
    throw new RegistoError('REQUEST_INVALID', 'a serial number is 1 to 20 bytes and positive');
  }
  const issuerSpki = options.issuerPublicKeySpki ?? (await options.issuerSigner.publicKeySpki());
  // Whole seconds: UTCTime / GeneralizedTime carry no fractions in certificates (RFC 5280 §4.1.2.5).
  const second = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);
  const notBefore = second(options.notBefore);
  const notAfter = second(options.notAfter);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: encodeName(options.issuerName),
    validity: new Validity({ notBefore, notAfter }),
    subject: encodeName(options.subjectName),
    subjectPublicKeyInfo: AsnConvert.parse(options.subjectPublicKeySpki, SubjectPublicKeyInfo),
    extensions: buildExtensions(options, issuerSpki),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await options.issuerSigner.sign(tbsDer);
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
  const der = derTlv(0x30, Buffer.concat([tbsDer, ECDSA_WITH_SHA256_DER, derTlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
  return {
    der,
    pem: toPem(der),
    serialNumber: serial.toString('hex').toUpperCase(),
    sha256: sha256Hex(der),
    notBefore,
    notAfter,
  };
}

export { KeyUsageFlags };

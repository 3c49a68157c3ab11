import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { RegistoError } from '@registo/schemas';
import { Pkcs11Signer } from '@registo/hsm';
import type { Signer, SignerMode } from '@registo/hsm';
import {
  type CertificateExtensionsSpec,
  type DistinguishedName,
  type IssueCertificateOptions,
  KeyUsageFlags,
  POLICY_OIDS,
  buildExtensions,
} from './certificates.js';
import { checkCsr } from './csr.js';
import { type CheckedCsrKey, CsrCheckPool } from './csr-pool.js';
import { derSequence, derTime, derTlv, unsignedIntegerContent } from './der.js';
import { type HolderCertificateIssuer, type HolderCertificateRequest, type IssuedHolderCertificate, normaliseSerialHex } from './ports.js';
import { crlUrl, ocspUrl, trustKey } from './profiles.js';
import type { TrustKeys } from './trust-keys.js';

/*
 * Holder certificates (card chip, wallet) issued by the identity CA from the holder's CSR, fast:
 * the TBSCertificate is a DER template computed once, into which each certificate writes only its
 * serial, validity, subject, public key and key identifier — no generic ASN.1 serialisation per
 * certificate. The fixed parts are encoded by the same code as `issueCertificate`, and the tests
 * check that both give the same bytes for the same inputs.
 */

/** id-kp-clientAuth (RFC 5280 §4.2.1.12). */
export const ID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** A UIN as it may appear in a certificate subject (PrintableString-safe). */
const UIN_PATTERN = /^[0-9A-Za-z-]{1,64}$/;

/** The holder profile: an end entity that signs (authentication), under the signer mode's policy. */
export function holderProfile(mode: SignerMode, publicUrl: string): CertificateExtensionsSpec {
  return {
    ca: false,
    keyUsage: KeyUsageFlags.digitalSignature,
    extendedKeyUsage: { purposes: [ID_KP_CLIENT_AUTH] },
    policies: [POLICY_OIDS[mode]],
    crlDistributionPoints: [crlUrl(publicUrl, trustKey('identity_ca').urlName!)],
    ocspUrls: [ocspUrl(publicUrl)],
  };
}

/**
 * The subject of a holder certificate carries the UIN and nothing else about the person: no name,
 * no date of birth — a certificate is shown to every relying party it authenticates to. The UIN
 * is both the serialNumber attribute (X.520's identifier of the subject) and the CN (what software
 * displays).
 */
export function holderSubject(uin: string): DistinguishedName {
  return [
    ['SERIALNUMBER', uin],
    ['CN', uin],
  ];
}

function checkRequest(request: HolderCertificateRequest, caNotAfter: Date): { serial: Buffer; notBefore: Date; notAfter: Date } {
  if (!UIN_PATTERN.test(request.uin)) throw new RegistoError('REQUEST_INVALID', 'a UIN in a certificate is 1 to 64 letters, digits or hyphens', { field: 'uin' });
  const serial = unsignedIntegerContent(request.serialNumber);
  if (serial.length > 20 || serial.every((b) => b === 0)) throw new RegistoError('REQUEST_INVALID', 'a serial number is positive and at most 20 bytes (RFC 5280 §4.1.2.2)', { field: 'serialNumber' });
  const second = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);
  const notBefore = second(request.notBefore);
  const notAfter = second(request.notAfter);
  if (!(notAfter > notBefore)) throw new RegistoError('REQUEST_INVALID', 'notAfter must be later than notBefore', { field: 'notAfter' });
  if (notAfter > caNotAfter) throw new RegistoError('REQUEST_INVALID', `a holder certificate cannot outlive the identity CA (${caNotAfter.toISOString()})`, { field: 'notAfter' });
  return { serial, notBefore, notAfter };
}

/** What the template leaves out: everything else in the TBSCertificate is fixed per issuer and mode. */
interface Template {
  /** version, and the signature algorithm after the serial. */
  version: Buffer;
  signatureAlgorithm: Buffer;
  issuer: Buffer;
  /** Extensions before and after the subject key identifier, each DER. */
  extensionsBefore: Buffer;
  extensionsAfter: Buffer;
}

const VERSION_V3 = Buffer.from('a003020102', 'hex');
const ECDSA_WITH_SHA256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
const OID_SERIAL_NUMBER = Buffer.from('0603550405', 'hex');
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
/** Extension { extnID subjectKeyIdentifier, extnValue OCTET STRING { KeyIdentifier OCTET STRING (20) } }. */
const SKI_EXTENSION_HEAD = Buffer.from('301d0603551d0e04160414', 'hex');
const ID_CE_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

function buildTemplate(issuerCertificateDer: Buffer, issuerSpki: Buffer, profile: CertificateExtensionsSpec): Template {
  const issuerCert = AsnConvert.parse(issuerCertificateDer, Certificate);
  // The issuer field is the CA certificate's subject, byte for byte (RFC 5280 name chaining).
  const issuer = Buffer.from(AsnConvert.serialize(issuerCert.tbsCertificate.subject));
  // Any P-256 key: only the subject key identifier depends on it, and it is cut out below.
  const extensions = buildExtensions({ ...profile, subjectPublicKeySpki: issuerSpki }, issuerSpki).map((e) => ({ id: e.extnID, der: Buffer.from(AsnConvert.serialize(e)) }));
  const at = extensions.findIndex((e) => e.id === ID_CE_SUBJECT_KEY_IDENTIFIER);
  if (at < 0 || !extensions[at]!.der.subarray(0, SKI_EXTENSION_HEAD.length).equals(SKI_EXTENSION_HEAD)) {
    throw new RegistoError('CONFIG_INVALID', 'the holder profile has no 20-byte subject key identifier where the template expects it');
  }
  return {
    version: VERSION_V3,
    signatureAlgorithm: ECDSA_WITH_SHA256,
    issuer,
    extensionsBefore: Buffer.concat(extensions.slice(0, at).map((e) => e.der)),
    extensionsAfter: Buffer.concat(extensions.slice(at + 1).map((e) => e.der)),
  };
}

/** The TBSCertificate DER of a holder certificate, from the template. */
function tbsFromTemplate(t: Template, serial: Buffer, notBefore: Date, notAfter: Date, uin: string, spki: Buffer, point: Buffer): Buffer {
  const uinBytes = Buffer.from(uin, 'ascii');
  const subject = derSequence(
    derTlv(0x31, derSequence(OID_SERIAL_NUMBER, derTlv(0x13, uinBytes))),
    derTlv(0x31, derSequence(OID_COMMON_NAME, derTlv(0x0c, uinBytes))),
  );
  const ski = createHash('sha1').update(point).digest();
  const extensions = derTlv(0xa3, derSequence(t.extensionsBefore, SKI_EXTENSION_HEAD, ski, t.extensionsAfter));
  return derSequence(t.version, derTlv(0x02, serial), t.signatureAlgorithm, t.issuer, derSequence(derTime(notBefore), derTime(notAfter)), subject, spki, extensions);
}

function certificateFrom(tbs: Buffer, signature: Buffer): Buffer {
  return derSequence(tbs, ECDSA_WITH_SHA256, derTlv(0x03, Buffer.from([0]), signature));
}

export interface HolderIssuerOptions {
  publicUrl: string;
  /**
   * PKCS#11 sessions signing at once (qualified mode). One session signs one certificate at a time
   * on the JavaScript thread; several run C_Sign on libuv's worker threads side by side. Default 2.
   */
  sessions?: number;
  /**
   * Worker threads checking CSRs (key import and signature verification, the costliest part of
   * issuance). 0 checks on the calling thread (the signature is still verified off it). Default:
   * the number of CPUs, at most 2.
   */
  csrWorkers?: number;
}

export interface HolderIssuer extends HolderCertificateIssuer {
  /** The IssueCertificateOptions of the same certificate for the generic encoder (reference and baseline). */
  referenceOptions(request: HolderCertificateRequest, subjectPublicKeySpki: Buffer): IssueCertificateOptions;
  /** Releases the extra token sessions. */
  close(): Promise<void>;
}

/** Issues holder certificates under the identity CA of `trust`, from CSRs (proof of possession checked). */
export async function createHolderCertificateIssuer(trust: TrustKeys, options: HolderIssuerOptions): Promise<HolderIssuer> {
  const mode = trust.mode;
  const caSigner = trust.signers.identity_ca;
  const caCertificate = trust.certificates.identity_ca;
  const caSpki = await caSigner.publicKeySpki();
  const caNotAfter = new Date(caCertificate.x509.validTo);
  const profile = holderProfile(mode, options.publicUrl);
  const template = buildTemplate(caCertificate.der, caSpki, profile);
  const signer: Signer = caSigner instanceof Pkcs11Signer ? caSigner.parallel(options.sessions ?? 2) : caSigner;
  const issuerName = trust.certificates.identity_ca.x509.subject;
  const workers = options.csrWorkers ?? Math.min(2, availableParallelism());
  const pool = workers > 0 ? new CsrCheckPool(workers) : null;
  const checked = (der: Buffer): Promise<CheckedCsrKey> => (pool ? pool.check(der) : checkCsr(der));

  return {
    mode,
    async issue(request: HolderCertificateRequest): Promise<IssuedHolderCertificate> {
      const { serial, notBefore, notAfter } = checkRequest(request, caNotAfter);
      const csr = await checked(request.csrDer);
      const tbs = tbsFromTemplate(template, serial, notBefore, notAfter, request.uin, csr.subjectPublicKeyInfo, csr.point);
      const certificateDer = certificateFrom(tbs, await signer.sign(tbs));
      return {
        serialHex: normaliseSerialHex(serial),
        certificateDer,
        subjectPublicKeySha256: createHash('sha256').update(csr.subjectPublicKeyInfo).digest('hex'),
        notBefore,
        notAfter,
      };
    },
    referenceOptions(request, subjectPublicKeySpki) {
      const { serial, notBefore, notAfter } = checkRequest(request, caNotAfter);
      return {
        ...profile,
        issuerSigner: caSigner,
        issuerName: parseDisplayName(issuerName),
        issuerPublicKeySpki: caSpki,
        subjectName: holderSubject(request.uin),
        subjectPublicKeySpki,
        serialNumber: serial,
        notBefore,
        notAfter,
      };
    },
    async close() {
      await pool?.close();
      if (signer !== caSigner) await signer.close?.();
    },
  };
}

/** Node's `X509Certificate.subject` ("O=Registo\nOU=…\nCN=…") as a DistinguishedName. */
function parseDisplayName(subject: string): DistinguishedName {
  return subject.split('\n').map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)] as const;
  });
}

import { createHash, randomBytes } from 'node:crypto';
import { Attribute, CertificateChoices, CertificateSet, CMSVersion, ContentInfo, DigestAlgorithmIdentifier, DigestAlgorithmIdentifiers, EncapsulatedContent, EncapsulatedContentInfo, IssuerAndSerialNumber, SignatureAlgorithmIdentifier, SignedData, SignerIdentifier, SignerInfo, SignerInfos, id_signedData } from '@peculiar/asn1-cms';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Accuracy, MessageImprint, TSTInfo, TSTInfoVersion, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier, Certificate, GeneralName } from '@peculiar/asn1-x509';
import { RegistoError } from '@registo/schemas';
import type { SignerMode } from '@registo/hsm';
import { ECDSA_WITH_SHA256 } from './certificates.js';
import { bigintToIntegerContent, unsignedIntegerContent, derOid, derSequence, derSetOf, derTime, derTlv } from './der.js';
import type { Timestamper, TimestampRequest } from './ports.js';
import type { TrustCertificate, TrustKeys } from './trust-keys.js';
import { IMPRINT_HASHES, type TsaFailure, decodeTimeStampReq, encodeGranted, encodeRejection } from './tsa-protocol.js';

/*
 * The RFC 3161 time-stamping authority. A token is a CMS SignedData (RFC 5652) whose content is
 * the DER TSTInfo, signed by the hierarchy's TSA key through the `Signer` port, so the key can
 * stay inside the PKCS#11 token. The signed attributes are the ones openssl and RFC 5816 verifiers
 * look for: contentType, messageDigest, signingTime and signingCertificateV2 (ESSCertIDv2 over the
 * TSA certificate, RFC 5035), which binds the token to the certificate that must verify it.
 */

/** id-sha256 (NIST): the digest of the signed attributes and the certificate hash. */
export const ID_SHA256 = IMPRINT_HASHES.sha256.oid;

/**
 * The TSA's policies (TSTInfo.policy), one per signer mode, under the same placeholder arc as the
 * certificate policies (`POLICY_OIDS`: …1.1 / …1.2): …2.1 qualified, …2.2 non-qualified. A relying
 * party tells a non-qualified timestamp by its policy. The arc must be replaced by the
 * programme's registered one before anything is timestamped for real.
 */
export const TSA_POLICY_OIDS: Readonly<Record<SignerMode, string>> = {
  qualified: '1.3.6.1.4.1.99999.2.1',
  non_qualified: '1.3.6.1.4.1.99999.2.2',
};

const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';
/** id-aa-signingCertificateV2 (RFC 5035). */
const ID_AA_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';

export interface TimestamperOptions {
  /** TSTInfo.accuracy in whole seconds (default 1: the host clock is NTP-disciplined, not a qualified time source). */
  accuracySeconds?: number;
  /** The clock (tests). */
  now?: () => Date;
}

/** A Timestamper that also answers the protocol: DER TimeStampReq in, DER TimeStampResp out. */
export interface TimeStampAuthority extends Timestamper {
  /** TSTInfo.policy of every token (the signer mode's TSA policy). */
  readonly policyOid: string;
  readonly certificate: TrustCertificate;
  /** Never throws: a request that cannot be served is answered with a `rejection` and its failInfo. */
  respond(timeStampReqDer: Buffer): Promise<Buffer>;
  /** A `rejection` TimeStampResp (for transport-level problems: wrong media type, empty body). */
  rejection(failure: TsaFailure, text: string): Buffer;
}

function attribute(type: string, value: Buffer): Buffer {
  return derSequence(derOid(type), derSetOf([value]));
}

/**
 * Serial numbers: 8 bytes of a per-process counter that starts at the current time in
 * microseconds and only grows, then 8 random bytes. Unique within a process by construction and
 * across processes (several API instances) by the random half.
 */
function serialNumbers(): () => Buffer {
  let last = 0n;
  return () => {
    const now = BigInt(Date.now()) * 1000n;
    last = now > last ? now : last + 1n;
    const out = Buffer.alloc(16);
    out.writeBigUInt64BE(last, 0);
    randomBytes(8).copy(out, 8);
    out[0] = out[0]! & 0x7f; // positive
    return out;
  };
}

export function createTimestamper(trust: TrustKeys, options: TimestamperOptions = {}): TimeStampAuthority {
  const signer = trust.signers.tsa_signer;
  const certificate = trust.certificates.tsa_signer;
  const mode = trust.mode;
  const policyOid = TSA_POLICY_OIDS[mode];
  const now = options.now ?? (() => new Date());
  const accuracySeconds = options.accuracySeconds ?? 1;
  const nextSerial = serialNumbers();

  const cert = AsnConvert.parse(certificate.der, Certificate);
  // The token carries the certificate re-encoded from this parse; ESSCertIDv2 hashes the file's
  // bytes. They must be the same bytes, or verifiers would find a certificate that does not match.
  if (!Buffer.from(AsnConvert.serialize(cert)).equals(certificate.der)) {
    throw new RegistoError('CONFIG_INVALID', 'the TSA certificate does not re-encode to its own DER (not DER-encoded?)');
  }
  const subject = cert.tbsCertificate.subject;
  const issuer = cert.tbsCertificate.issuer;
  const certSerial = Buffer.from(cert.tbsCertificate.serialNumber);
  // ESSCertIDv2 { certHash (SHA-256, the default algorithm, so omitted), issuerSerial { issuer GeneralNames, serialNumber } }
  const essCertId = derSequence(
    derTlv(0x04, createHash('sha256').update(certificate.der).digest()),
    derSequence(derSequence(derTlv(0xa4, Buffer.from(AsnConvert.serialize(issuer)))), derTlv(0x02, certSerial)),
  );
  const signingCertificateV2 = attribute(ID_AA_SIGNING_CERTIFICATE_V2, derSequence(derSequence(essCertId)));
  const contentTypeAttribute = attribute(ID_CONTENT_TYPE, derOid(id_ct_tstInfo));
  const sha256 = () => new DigestAlgorithmIdentifier({ algorithm: ID_SHA256 });

  async function timestamp(request: TimestampRequest): Promise<Buffer> {
    const hash = IMPRINT_HASHES[request.hashAlgorithm ?? 'sha256'];
    if (request.messageImprint.length !== hash.bytes) {
      throw new RegistoError('REQUEST_INVALID', `a ${hash.label} message imprint is ${hash.bytes} bytes, not ${request.messageImprint.length}`);
    }
    const genTime = now();
    const tstInfo = new TSTInfo({
      version: TSTInfoVersion.v1,
      policy: policyOid,
      messageImprint: new MessageImprint({ hashAlgorithm: new AlgorithmIdentifier({ algorithm: hash.oid }), hashedMessage: new OctetString(request.messageImprint) }),
      // INTEGER content octets must be minimal: the counter's top byte is zero for millennia.
      serialNumber: new Uint8Array(unsignedIntegerContent(nextSerial())).buffer,
      genTime,
      accuracy: new Accuracy({ seconds: accuracySeconds }),
      ...(request.nonce !== undefined && { nonce: new Uint8Array(bigintToIntegerContent(request.nonce)).buffer }),
      tsa: new GeneralName({ directoryName: subject }),
    });
    const tstInfoDer = Buffer.from(AsnConvert.serialize(tstInfo));
    const signed = [
      contentTypeAttribute,
      attribute(ID_MESSAGE_DIGEST, derTlv(0x04, createHash('sha256').update(tstInfoDer).digest())),
      attribute(ID_SIGNING_TIME, derTime(genTime)),
      signingCertificateV2,
    ].sort(Buffer.compare);
    // The signature covers the signed attributes as a DER SET OF (RFC 5652 §5.4), in DER order;
    // the SignerInfo carries them in that same order under [0] IMPLICIT.
    const signature = await signer.sign(derSetOf(signed));
    const signerInfo = new SignerInfo({
      version: CMSVersion.v1,
      sid: new SignerIdentifier({ issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer, serialNumber: new Uint8Array(certSerial).buffer }) }),
      digestAlgorithm: sha256(),
      signedAttrs: signed.map((der) => AsnConvert.parse(der, Attribute)),
      signatureAlgorithm: new SignatureAlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
      signature: new OctetString(signature),
    });
    const signedData = new SignedData({
      // v3: the encapsulated content is not id-data (RFC 5652 §5.1).
      version: CMSVersion.v3,
      digestAlgorithms: new DigestAlgorithmIdentifiers([sha256()]),
      encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_ct_tstInfo, eContent: new EncapsulatedContent({ single: new OctetString(tstInfoDer) }) }),
      ...(request.certReq && { certificates: new CertificateSet([new CertificateChoices({ certificate: cert })]) }),
      signerInfos: new SignerInfos([signerInfo]),
    });
    return Buffer.from(AsnConvert.serialize(new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) })));
  }

  return {
    mode,
    policyOid,
    certificate,
    timestamp,
    rejection: (failure, text) => encodeRejection(failure, text),
    async respond(der) {
      const decoded = decodeTimeStampReq(der, policyOid);
      if (!decoded.ok) return encodeRejection(decoded.failure, decoded.text);
      try {
        return encodeGranted(await timestamp(decoded.request));
      } catch (error) {
        // The signer (token) failed: the protocol's answer is systemFailure, not an HTTP 5xx.
        return encodeRejection('systemFailure', `the time-stamping authority could not sign: ${(error as Error).message}`);
      }
    },
  };
}

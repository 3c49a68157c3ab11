import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, CertID, OCSPRequest, OCSPResponse, Request, TBSRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, Certificate, Extension } from '@peculiar/asn1-x509';
import {
  KeyUsageFlags,
  type TrustKeys,
  issueCertificate,
  openTrustKeys,
  subjectNameOf,
  trustKey,
} from '../src/index.js';

const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';

export async function softwareTrustKeys(): Promise<TrustKeys> {
  const dir = await mkdtemp(join(tmpdir(), 'registo-status-'));
  return openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir: dir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
}

/** A holder certificate issued by the identity CA; returns its serial (hex as openssl prints it). */
export async function issueHolder(trust: TrustKeys): Promise<{ serialHex: string; der: Buffer }> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = await issueCertificate({
    issuerSigner: trust.signers.identity_ca,
    issuerName: subjectNameOf(trustKey('identity_ca'), trust.mode),
    subjectName: [['O', 'Registo'], ['CN', `Holder ${randomBytes(4).toString('hex')}`]],
    subjectPublicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    ca: false,
    keyUsage: KeyUsageFlags.digitalSignature,
  });
  return { serialHex: cert.serialNumber.toLowerCase(), der: cert.der };
}

/** A CertID naming `serialHex` as issued by the CA of `caDer`, with SHA-1 or SHA-256. */
export function certIdOf(caDer: Buffer, serialHex: string, hash: 'sha1' | 'sha256' = 'sha1'): CertID {
  const ca = AsnConvert.parse(caDer, Certificate);
  const name = Buffer.from(AsnConvert.serialize(ca.tbsCertificate.subject));
  const key = Buffer.from(ca.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
  const serial = Buffer.from(serialHex, 'hex');
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: hash === 'sha1' ? SHA1 : SHA256, parameters: null }),
    issuerNameHash: new OctetString(createHash(hash).update(name).digest()),
    issuerKeyHash: new OctetString(createHash(hash).update(key).digest()),
    serialNumber: new Uint8Array(serial[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), serial]) : serial).buffer,
  });
}

/** A DER OCSPRequest for these CertIDs, with a nonce of that many octets (RFC 8954 form) if given. */
export function ocspRequest(certIds: CertID[], nonceOctets?: number): Buffer {
  const requestExtensions = nonceOctets === undefined ? undefined : [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(AsnConvert.serialize(new OctetString(randomBytes(nonceOctets)))) })];
  const tbs = new TBSRequest({ requestList: certIds.map((reqCert) => new Request({ reqCert })), ...(requestExtensions && { requestExtensions }) });
  return Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest: tbs })));
}

export interface ParsedOcspResponse {
  status: number;
  basic?: BasicOCSPResponse;
  tbsDer?: Buffer;
}

export function parseOcspResponse(der: Buffer): ParsedOcspResponse {
  const response = AsnConvert.parse(der, OCSPResponse);
  if (!response.responseBytes) return { status: response.responseStatus };
  const basicDer = Buffer.from(response.responseBytes.response.buffer);
  const basic = AsnConvert.parse(basicDer, BasicOCSPResponse);
  return { status: response.responseStatus, basic, tbsDer: Buffer.from(basic.tbsResponseDataRaw ?? AsnConvert.serialize(basic.tbsResponseData)) };
}

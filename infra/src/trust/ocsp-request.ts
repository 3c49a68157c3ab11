import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { elementLength } from './der.js';
import { normaliseSerialHex } from './ports.js';

/*
 * Decoding an OCSPRequest (RFC 6960 §4.1) with @peculiar/asn1-ocsp, and the checks that make a
 * request one this responder answers. Everything wrong with a request comes back as a
 * `RequestProblem` naming the OCSPResponseStatus to answer with, never as an exception.
 */

/** RFC 8954 §2.1: a nonce is 1 to 32 octets; longer ones are refused with malformedRequest. */
export const MAX_NONCE_OCTETS = 32;
/** More CertIDs than this in one request are refused (a responder need not answer unbounded lists). */
export const MAX_CERT_IDS = 16;
/** A request larger than this is not a status request (a handful of CertIDs is a few hundred bytes). */
export const MAX_REQUEST_OCTETS = 8 * 1024;

export interface RequestedCertId {
  /** The CertID exactly as re-encoded for the response (hash algorithm, hashes and serial as asked). */
  der: Buffer;
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serialHex: string;
}

export interface DecodedOcspRequest {
  certIds: RequestedCertId[];
  /** The nonce extension's extnValue, to echo byte for byte (RFC 8954). */
  nonceExtnValue: Buffer | null;
}

export type RequestProblem = { problem: 'malformedRequest' | 'unauthorized'; detail: string };

const UNDERSTOOD_EXTENSIONS = new Set([id_pkix_ocsp_nonce]);

/** The nonce's own octets: RFC 8954 wraps them in an OCTET STRING; some old clients put them bare. */
function nonceOctets(extnValue: Buffer): number {
  if (extnValue.length >= 2 && extnValue[0] === 0x04 && elementLength(extnValue) === extnValue.length) {
    return extnValue.length - (extnValue[1]! < 0x80 ? 2 : 2 + (extnValue[1]! & 0x7f));
  }
  return extnValue.length;
}

export function decodeOcspRequest(der: Buffer): DecodedOcspRequest | RequestProblem {
  if (der.length === 0) return { problem: 'malformedRequest', detail: 'empty request' };
  if (der.length > MAX_REQUEST_OCTETS) return { problem: 'malformedRequest', detail: `request over ${MAX_REQUEST_OCTETS} bytes` };
  if (der[0] !== 0x30 || elementLength(der) !== der.length) return { problem: 'malformedRequest', detail: 'not one DER SEQUENCE (truncated, or trailing bytes)' };
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch (error) {
    return { problem: 'malformedRequest', detail: `not an OCSPRequest: ${(error as Error).message}` };
  }
  const tbs = request.tbsRequest;
  if (tbs.version !== 0) return { problem: 'malformedRequest', detail: `unsupported version ${tbs.version}` };
  if (tbs.requestList.length === 0) return { problem: 'malformedRequest', detail: 'no CertID in the request' };
  if (tbs.requestList.length > MAX_CERT_IDS) return { problem: 'malformedRequest', detail: `more than ${MAX_CERT_IDS} CertIDs in one request` };
  let nonceExtnValue: Buffer | null = null;
  for (const ext of tbs.requestExtensions ?? []) {
    if (ext.extnID === id_pkix_ocsp_nonce) {
      const value = Buffer.from(ext.extnValue.buffer);
      const octets = nonceOctets(value);
      if (octets < 1 || octets > MAX_NONCE_OCTETS) return { problem: 'malformedRequest', detail: `nonce of ${octets} octets (RFC 8954: 1 to ${MAX_NONCE_OCTETS})` };
      nonceExtnValue = value;
    } else if (ext.critical && !UNDERSTOOD_EXTENSIONS.has(ext.extnID)) {
      return { problem: 'malformedRequest', detail: `unknown critical extension ${ext.extnID}` };
    }
  }
  const certIds: RequestedCertId[] = [];
  for (const single of tbs.requestList) {
    const c = single.reqCert;
    const serial = Buffer.from(c.serialNumber);
    if (serial.length === 0 || serial.length > 20 || (serial[0]! & 0x80) !== 0) {
      return { problem: 'malformedRequest', detail: 'a serial number is 1 to 20 bytes and positive' };
    }
    certIds.push({
      der: Buffer.from(AsnConvert.serialize(c)),
      hashAlgorithm: c.hashAlgorithm.algorithm,
      issuerNameHash: Buffer.from(c.issuerNameHash.buffer),
      issuerKeyHash: Buffer.from(c.issuerKeyHash.buffer),
      serialHex: normaliseSerialHex(serial),
    });
  }
  return { certIds, nonceExtnValue };
}

export function isRequestProblem(x: DecodedOcspRequest | RequestProblem): x is RequestProblem {
  return 'problem' in x;
}

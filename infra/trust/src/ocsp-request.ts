import { DerError, DerReader, decodeOid } from './der-reader.js';
import { normaliseSerialHex } from './ports.js';

/*
 * Decoding an OCSPRequest (RFC 6960 §4.1.1) and the checks that make a request one this responder
 * answers. Everything wrong with a request comes back as a `RequestProblem` naming the
 * OCSPResponseStatus to answer with, never as an exception.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT GeneralName OPTIONAL,
 *                              requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 *
 * The decoder is a strict DER walk (der-reader.ts) rather than @peculiar/asn1-ocsp's schema
 * decoder, which costs 100–400 µs a request; the tests check both read the same requests alike.
 * A request's signature, if any, is not checked: this responder answers anyone (sigRequired is
 * never sent).
 */

/** RFC 8954 §2.1: a nonce is 1 to 32 octets; longer ones are refused with malformedRequest. */
export const MAX_NONCE_OCTETS = 32;
/** More CertIDs than this in one request are refused (a responder need not answer unbounded lists). */
export const MAX_CERT_IDS = 16;
/** A request larger than this is not a status request (a handful of CertIDs is a few hundred bytes). */
export const MAX_REQUEST_OCTETS = 8 * 1024;

export const ID_PKIX_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';

export interface RequestedCertId {
  /** The CertID's DER exactly as the client sent it, echoed in the response. */
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

const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;
const INTEGER = 0x02;
const OID = 0x06;
const BOOLEAN = 0x01;

class Malformed extends Error {}

/** The nonce's own octets: RFC 8954 wraps them in an OCTET STRING; some old clients put them bare. */
function nonceOctets(extnValue: Buffer): number {
  if (extnValue.length >= 2 && extnValue[0] === OCTET_STRING) {
    try {
      const r = new DerReader(extnValue);
      const inner = r.next(OCTET_STRING);
      if (r.atEnd) return inner.end - inner.contents;
    } catch {
      // not wrapped: counted as it is
    }
  }
  return extnValue.length;
}

interface ReadExtension {
  id: string;
  critical: boolean;
  value: Buffer;
}

function readExtensions(r: DerReader, what: string): ReadExtension[] {
  const seq = r.next(SEQUENCE, what);
  const inner = r.inside(seq);
  const out: ReadExtension[] = [];
  while (!inner.atEnd) {
    const ext = inner.inside(inner.next(SEQUENCE, `${what}: Extension`));
    const id = decodeOid(ext.contentsOf(ext.next(OID, 'extnID')));
    let critical = false;
    if (ext.peekTag() === BOOLEAN) {
      const b = ext.contentsOf(ext.next(BOOLEAN, 'critical'));
      if (b.length !== 1 || (b[0] !== 0 && b[0] !== 0xff)) throw new Malformed('critical is not a DER BOOLEAN');
      critical = b[0] === 0xff;
    }
    const value = ext.contentsOf(ext.next(OCTET_STRING, 'extnValue'));
    if (!ext.atEnd) throw new Malformed(`${what}: extra fields in an Extension`);
    out.push({ id, critical, value });
  }
  if (out.length === 0) throw new Malformed(`${what}: empty Extensions`);
  return out;
}

function readCertId(r: DerReader): RequestedCertId {
  const whole = r.next(SEQUENCE, 'CertID');
  const c = r.inside(whole);
  const algorithm = c.inside(c.next(SEQUENCE, 'hashAlgorithm'));
  const hashAlgorithm = decodeOid(algorithm.contentsOf(algorithm.next(OID, 'hashAlgorithm.algorithm')));
  if (!algorithm.atEnd) algorithm.next(undefined, 'hashAlgorithm.parameters');
  if (!algorithm.atEnd) throw new Malformed('extra fields in hashAlgorithm');
  const issuerNameHash = c.contentsOf(c.next(OCTET_STRING, 'issuerNameHash'));
  const issuerKeyHash = c.contentsOf(c.next(OCTET_STRING, 'issuerKeyHash'));
  const serial = c.contentsOf(c.next(INTEGER, 'serialNumber'));
  if (!c.atEnd) throw new Malformed('extra fields in CertID');
  if (serial.length === 0 || (serial[0]! & 0x80) !== 0) throw new Malformed('a serial number is positive');
  const unsigned = serial[0] === 0 ? serial.subarray(1) : serial;
  if (unsigned.length === 0 || unsigned.length > 20) throw new Malformed('a serial number is 1 to 20 octets');
  return { der: r.bytesOf(whole), hashAlgorithm, issuerNameHash, issuerKeyHash, serialHex: normaliseSerialHex(unsigned) };
}

function decode(der: Buffer): DecodedOcspRequest {
  const top = new DerReader(der);
  const request = top.inside(top.next(SEQUENCE, 'OCSPRequest'));
  if (!top.atEnd) throw new Malformed('trailing bytes after the OCSPRequest');
  const tbs = request.inside(request.next(SEQUENCE, 'tbsRequest'));
  if (!request.atEnd) {
    request.next(0xa0, 'optionalSignature');
    if (!request.atEnd) throw new Malformed('extra fields after optionalSignature');
  }
  if (tbs.peekTag() === 0xa0) {
    const version = tbs.inside(tbs.next(0xa0, 'version'));
    const v = version.contentsOf(version.next(INTEGER, 'version'));
    if (v.length !== 1 || v[0] !== 0) throw new Malformed(`unsupported version (v1 only)`);
  }
  if (tbs.peekTag() === 0xa1) tbs.next(0xa1, 'requestorName');
  const list = tbs.inside(tbs.next(SEQUENCE, 'requestList'));
  const certIds: RequestedCertId[] = [];
  while (!list.atEnd) {
    if (certIds.length === MAX_CERT_IDS) throw new Malformed(`more than ${MAX_CERT_IDS} CertIDs in one request`);
    const single = list.inside(list.next(SEQUENCE, 'Request'));
    certIds.push(readCertId(single));
    if (!single.atEnd) {
      const wrapper = single.inside(single.next(0xa0, 'singleRequestExtensions'));
      for (const ext of readExtensions(wrapper, 'singleRequestExtensions')) {
        if (ext.critical) throw new Malformed(`unknown critical extension ${ext.id} in a Request`);
      }
      if (!single.atEnd) throw new Malformed('extra fields in a Request');
    }
  }
  if (certIds.length === 0) throw new Malformed('no CertID in the request');
  let nonceExtnValue: Buffer | null = null;
  if (!tbs.atEnd) {
    const wrapper = tbs.inside(tbs.next(0xa2, 'requestExtensions'));
    for (const ext of readExtensions(wrapper, 'requestExtensions')) {
      if (ext.id === ID_PKIX_OCSP_NONCE) {
        const octets = nonceOctets(ext.value);
        if (octets < 1 || octets > MAX_NONCE_OCTETS) throw new Malformed(`nonce of ${octets} octets (RFC 8954: 1 to ${MAX_NONCE_OCTETS})`);
        if (nonceExtnValue) throw new Malformed('two nonces');
        nonceExtnValue = ext.value;
      } else if (ext.critical) {
        throw new Malformed(`unknown critical extension ${ext.id}`);
      }
    }
    if (!tbs.atEnd) throw new Malformed('extra fields in tbsRequest');
  }
  return { certIds, nonceExtnValue };
}

export function decodeOcspRequest(der: Buffer): DecodedOcspRequest | RequestProblem {
  if (der.length === 0) return { problem: 'malformedRequest', detail: 'empty request' };
  if (der.length > MAX_REQUEST_OCTETS) return { problem: 'malformedRequest', detail: `request over ${MAX_REQUEST_OCTETS} bytes` };
  try {
    return decode(der);
  } catch (error) {
    if (error instanceof Malformed || error instanceof DerError) return { problem: 'malformedRequest', detail: error.message };
    throw error;
  }
}

export function isRequestProblem(x: DecodedOcspRequest | RequestProblem): x is RequestProblem {
  return 'problem' in x;
}

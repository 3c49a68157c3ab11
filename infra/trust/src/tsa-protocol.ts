import { AsnConvert } from '@peculiar/asn1-schema';
import { PKIFailureInfo, PKIFreeText, PKIStatus, PKIStatusInfo, TimeStampReq, TimeStampResp, TimeStampToken } from '@peculiar/asn1-tsp';
import { integerContentToBigint, readDer } from './der.js';
import type { ImprintHash, TimestampRequest } from './ports.js';

/*
 * The request side of RFC 3161: a DER TimeStampReq is decoded and checked, and every answer is a
 * DER TimeStampResp — a token (`granted`) or a `rejection` whose PKIFailureInfo says why.
 */

/** PKIFailureInfo bit numbers (RFC 3161 §2.4.2). */
export const TSA_FAILURE_BITS = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;
export type TsaFailure = keyof typeof TSA_FAILURE_BITS;

/** Largest nonce accepted (openssl sends 8 bytes; a nonce is a random number, not a payload). */
const MAX_NONCE_BYTES = 64;

/** The imprint algorithms served (NIST OIDs), with their digest length; SHA-1 is not among them. */
export const IMPRINT_HASHES: Readonly<Record<ImprintHash, { oid: string; bytes: number; label: string }>> = {
  sha256: { oid: '2.16.840.1.101.3.4.2.1', bytes: 32, label: 'SHA-256' },
  sha384: { oid: '2.16.840.1.101.3.4.2.2', bytes: 48, label: 'SHA-384' },
  sha512: { oid: '2.16.840.1.101.3.4.2.3', bytes: 64, label: 'SHA-512' },
};
const imprintHashByOid = new Map(Object.entries(IMPRINT_HASHES).map(([name, h]) => [h.oid, name as ImprintHash]));
const SERVED_IMPRINTS = Object.values(IMPRINT_HASHES).map((h) => `${h.label} (${h.oid})`).join(', ');

export type DecodedTimeStampReq =
  | { ok: true; request: TimestampRequest & { reqPolicy?: string } }
  | { ok: false; failure: TsaFailure; text: string };

/**
 * Decodes and checks a TimeStampReq: DER, version 1, a SHA-256/384/512 imprint of its length (parameters
 * absent or NULL), no policy or the one this TSA serves, no extensions (none is supported).
 */
export function decodeTimeStampReq(der: Buffer, servedPolicy: string): DecodedTimeStampReq {
  const reject = (failure: TsaFailure, text: string): DecodedTimeStampReq => ({ ok: false, failure, text });
  let request: TimeStampReq;
  try {
    const outer = readDer(der);
    if (outer.tag !== 0x30) return reject('badDataFormat', 'a TimeStampReq is a DER SEQUENCE');
    if (outer.end !== der.length) return reject('badDataFormat', `${der.length - outer.end} bytes after the TimeStampReq`);
    request = AsnConvert.parse(der, TimeStampReq);
  } catch (error) {
    return reject('badDataFormat', `not a DER TimeStampReq: ${(error as Error).message}`);
  }
  if (request.version !== 1) return reject('badDataFormat', `TimeStampReq version ${request.version} is not supported (only v1)`);
  const { hashAlgorithm, hashedMessage } = request.messageImprint;
  const hashName = imprintHashByOid.get(hashAlgorithm.algorithm);
  if (hashName === undefined) return reject('badAlg', `message imprint algorithm ${hashAlgorithm.algorithm} is not supported: only ${SERVED_IMPRINTS}`);
  const hash = IMPRINT_HASHES[hashName];
  const params = hashAlgorithm.parameters ? Buffer.from(hashAlgorithm.parameters) : null;
  if (params && !params.equals(Buffer.from([0x05, 0x00]))) return reject('badAlg', `${hash.label} takes no parameters (absent or NULL)`);
  const imprint = Buffer.from(hashedMessage.buffer);
  if (imprint.length !== hash.bytes) return reject('badAlg', `a ${hash.label} message imprint is ${hash.bytes} bytes, not ${imprint.length}`);
  if (request.reqPolicy !== undefined && request.reqPolicy !== servedPolicy) {
    return reject('unacceptedPolicy', `policy ${request.reqPolicy} is not served here; this TSA's policy is ${servedPolicy}`);
  }
  if (request.extensions && request.extensions.length > 0) {
    return reject('unacceptedExtension', `no request extension is supported (${request.extensions.map((e) => e.extnID).join(', ')})`);
  }
  let nonce: bigint | undefined;
  if (request.nonce !== undefined) {
    const bytes = Buffer.from(request.nonce);
    if (bytes.length > MAX_NONCE_BYTES) return reject('badDataFormat', `a nonce of ${bytes.length} bytes is too long (at most ${MAX_NONCE_BYTES})`);
    nonce = integerContentToBigint(bytes);
  }
  return {
    ok: true,
    request: { messageImprint: imprint, hashAlgorithm: hashName, certReq: request.certReq, ...(nonce !== undefined && { nonce }), ...(request.reqPolicy !== undefined && { reqPolicy: request.reqPolicy }) },
  };
}

/** The named bit `bit` alone, as DER wants it: no trailing zero bits. */
function failureInfo(failure: TsaFailure): PKIFailureInfo {
  const bit = TSA_FAILURE_BITS[failure];
  const bytes = new Uint8Array((bit >> 3) + 1);
  bytes[bit >> 3] = 0x80 >> (bit & 7);
  return new PKIFailureInfo(bytes, 7 - (bit & 7));
}

export function encodeRejection(failure: TsaFailure, text: string): Buffer {
  const status = new PKIStatusInfo({ status: PKIStatus.rejection, statusString: new PKIFreeText([text]), failInfo: failureInfo(failure) });
  return Buffer.from(AsnConvert.serialize(new TimeStampResp({ status })));
}

export function encodeGranted(timeStampTokenDer: Buffer): Buffer {
  const token = AsnConvert.parse(timeStampTokenDer, TimeStampToken);
  return Buffer.from(AsnConvert.serialize(new TimeStampResp({ status: new PKIStatusInfo({ status: PKIStatus.granted }), timeStampToken: token })));
}

export interface DecodedTimeStampResp {
  status: PKIStatus;
  failInfo: TsaFailure[];
  statusText: string[];
  /** DER of the TimeStampToken when granted. */
  token: Buffer | null;
}

/** Reads a TimeStampResp (for callers and tests): the status, the failure names, the token. */
export function decodeTimeStampResp(der: Buffer): DecodedTimeStampResp {
  const resp = AsnConvert.parse(der, TimeStampResp);
  const failInfo: TsaFailure[] = [];
  if (resp.status.failInfo) {
    const bytes = new Uint8Array(resp.status.failInfo.value);
    for (const [name, bit] of Object.entries(TSA_FAILURE_BITS) as [TsaFailure, number][]) {
      if ((bit >> 3) < bytes.length && (bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) failInfo.push(name);
    }
  }
  return {
    status: resp.status.status,
    failInfo,
    statusText: resp.status.statusString ? [...resp.status.statusString] : [],
    token: resp.timeStampToken ? Buffer.from(AsnConvert.serialize(resp.timeStampToken)) : null,
  };
}

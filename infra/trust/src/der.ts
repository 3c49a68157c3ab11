import { RegistoError } from '@registo/schemas';
import { DerError, DerReader } from './der-reader.js';

/*
 * A little DER, for the few places where the trust services assemble bytes themselves: the
 * outer SEQUENCEs around a signed body, the small ESS attributes, the per-certificate fields of
 * the holder-certificate template, and the status services' hot paths (OCSP responses are
 * assembled from pieces computed once and a few bytes that change per answer, which is much
 * cheaper than encoding a whole object tree per response). Everything larger is encoded with
 * @peculiar/asn1-*.
 */

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n < 0x1000000) return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.from([0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

export function derTlv(tag: number, ...body: Buffer[]): Buffer {
  const content = body.length === 1 ? body[0]! : Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

export const derSequence = (...body: Buffer[]): Buffer => derTlv(0x30, ...body);

/** SET OF in DER: the elements' encodings sorted as octet strings (X.690 §11.6). */
export function derSetOf(elements: Buffer[]): Buffer {
  return derTlv(0x31, ...[...elements].sort(Buffer.compare));
}

/** The content octets of an INTEGER for an unsigned big-endian value (a leading zero when the high bit is set). */
export function unsignedIntegerContent(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const body = unsigned.subarray(i);
  return body.length > 0 && (body[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), body]) : Buffer.from(body.length ? body : [0]);
}

/** The content octets of an INTEGER: minimal two's complement. */
export function bigintToIntegerContent(value: bigint): Buffer {
  if (value === 0n) return Buffer.from([0]);
  const bytes: number[] = [];
  let v = value;
  // Emit bytes until the remaining value is all sign bits and the last byte's top bit agrees.
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

/** The value of INTEGER content octets (two's complement). */
export function integerContentToBigint(content: Buffer): bigint {
  if (content.length === 0) return 0n;
  let v = 0n;
  for (const byte of content) v = (v << 8n) | BigInt(byte);
  return (content[0]! & 0x80) !== 0 ? v - (1n << BigInt(content.length * 8)) : v;
}


/** One TLV read at `offset`: its tag, where its content starts and ends. */
export interface DerElement {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  contentStart: number;
  end: number;
}

/**
 * Reads the TLV at `offset` with the strict reader (single-byte tags, definite minimal lengths,
 * as DER requires). Throws REQUEST_INVALID when it is not DER or runs past `limit`.
 */
export function readDer(buf: Buffer, offset = 0, limit = buf.length): DerElement {
  try {
    const tlv = new DerReader(buf, offset, limit).next();
    return { tag: tlv.tag, start: tlv.start, contentStart: tlv.contents, end: tlv.end };
  } catch (error) {
    if (error instanceof DerError) throw new RegistoError('REQUEST_INVALID', `not DER: ${error.message} at offset ${offset}`);
    throw error;
  }
}

/** The children of a constructed element. */
export function derChildren(buf: Buffer, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const child = readDer(buf, p, parent.end);
    out.push(child);
    p = child.end;
  }
  return out;
}

/** An OBJECT IDENTIFIER, encoded. */
export function derOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new RegistoError('REQUEST_INVALID', `not an OID: ${oid}`);
  const first = arcs[0]! * 40n + arcs[1]!;
  const body: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...chunk);
  }
  return derTlv(0x06, Buffer.from(body));
}

/** UTCTime (years 1950–2049) or GeneralizedTime, whole seconds, as RFC 5280 §4.1.2.5 picks them. */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const year = date.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return year >= 1950 && year < 2050 ? derTlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : derTlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

export const octetString = (value: Buffer): Buffer => derTlv(0x04, value);
export const bitString = (value: Buffer): Buffer => derTlv(0x03, Buffer.from([0]), value);
export const enumerated = (value: number): Buffer => derTlv(0x0a, Buffer.from([value]));
/** [n] EXPLICIT: a constructed context tag around the inner encoding. */
export const explicit = (n: number, ...inner: Buffer[]): Buffer => derTlv(0xa0 | n, ...inner);

/** A positive INTEGER from big-endian unsigned bytes (a 0x00 is put in front of a set high bit). */
export const unsignedInteger = (bytes: Buffer): Buffer => derTlv(0x02, unsignedIntegerContent(bytes));

const OID_CACHE = new Map<string, Buffer>();
/** OBJECT IDENTIFIER, encoded once per OID string (`derOid`, kept: callers must not change the bytes). */
export function oid(dotted: string): Buffer {
  let out = OID_CACHE.get(dotted);
  if (!out) {
    out = derOid(dotted);
    OID_CACHE.set(dotted, out);
  }
  return out;
}

let lastSecond = -1;
let lastTime: Buffer = Buffer.alloc(0);
/** GeneralizedTime in whole seconds, `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.2: no fractions); the last one is kept (answers in the same second share it). */
export function generalizedTime(at: Date): Buffer {
  const second = Math.floor(at.getTime() / 1000);
  if (second === lastSecond) return lastTime;
  const iso = at.toISOString(); // 2026-12-01T18:39:06.123Z
  const text = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const out = derTlv(0x18, Buffer.from(text, 'latin1'));
  // Only "now"-like times are worth keeping; a revocation time asked once is not.
  if (Math.abs(second * 1000 - Date.now()) < 2000) {
    lastSecond = second;
    lastTime = out;
  }
  return out;
}

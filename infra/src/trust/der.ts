/*
 * A little DER for the status services' hot paths: OCSP responses are assembled from pieces
 * computed once (responder ID, signature algorithm, the signer's certificate) and a few bytes that
 * change per answer, which is much cheaper than encoding a whole object tree per response.
 */

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n < 0x1000000) return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.from([0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** tag ‖ length ‖ body, the parts concatenated as the body. */
export function tlv(tag: number, ...body: Buffer[]): Buffer {
  const content = body.length === 1 ? body[0]! : Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

export const seq = (...body: Buffer[]): Buffer => tlv(0x30, ...body);
export const octetString = (value: Buffer): Buffer => tlv(0x04, value);
export const bitString = (value: Buffer): Buffer => tlv(0x03, Buffer.from([0]), value);
export const enumerated = (value: number): Buffer => tlv(0x0a, Buffer.from([value]));
/** [n] EXPLICIT: a constructed context tag around the inner encoding. */
export const explicit = (n: number, ...inner: Buffer[]): Buffer => tlv(0xa0 | n, ...inner);

/** A positive INTEGER from big-endian unsigned bytes (a 0x00 is put in front of a set high bit). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

const OID_CACHE = new Map<string, Buffer>();
/** OBJECT IDENTIFIER, encoded once per OID string. */
export function oid(dotted: string): Buffer {
  const hit = OID_CACHE.get(dotted);
  if (hit) return hit;
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const bytes: number[] = [];
  const push = (v: bigint) => {
    const groups: number[] = [Number(v & 0x7fn)];
    for (let x = v >> 7n; x > 0n; x >>= 7n) groups.unshift(Number(x & 0x7fn) | 0x80);
    bytes.push(...groups);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  const out = tlv(0x06, Buffer.from(bytes));
  OID_CACHE.set(dotted, out);
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
  const out = tlv(0x18, Buffer.from(text, 'latin1'));
  // Only "now"-like times are worth keeping; a revocation time asked once is not.
  if (Math.abs(second * 1000 - Date.now()) < 2000) {
    lastSecond = second;
    lastTime = out;
  }
  return out;
}

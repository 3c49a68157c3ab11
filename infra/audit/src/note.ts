import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { RegistoError } from '@registo/schemas';
import { decodeBase64Strict } from '@registo/crypto';

/*
 * C2SP signed notes (c2sp.org/signed-note) carrying C2SP checkpoints (c2sp.org/tlog-checkpoint).
 *
 * A checkpoint body is: origin line, decimal tree size, base64 root hash, then extension lines,
 * each ending in a newline. The signed note is the body, a blank line, and one line per signature:
 * "— <key name> base64(key ID ‖ signature)".
 *
 * Registo signs with ECDSA P-256, which signed-note assigns signature type 0x02 ("ECDSA signatures
 * as implemented by github.com/transparency-dev/witness"): the signature is the ASN.1 DER ECDSA
 * signature over SHA-256 of the note body, and the key ID is the first four bytes of SHA-256 of
 * the DER SubjectPublicKeyInfo. So `openssl dgst -sha256 -verify key.pem -signature sig.der body`
 * checks it, once the four key-ID bytes are cut off the decoded signature.
 */

/** Extension line that links a checkpoint to the one before it: base64 SHA-256 of that whole signed note. */
export const PREVIOUS_EXTENSION = 'previous';
/** Extension line present only when the signer is a software key (DESIGN §5: every artifact says so). */
export const SIGNER_MODE_EXTENSION = 'signer-mode';

export interface CheckpointBody {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  extensions: string[];
}

export function formatCheckpointBody(c: CheckpointBody): string {
  for (const line of [c.origin, ...c.extensions]) {
    // eslint-disable-next-line no-control-regex -- the check is for control characters
    if (line.length === 0 || /[\n\x00-\x1f]/.test(line)) throw new RegistoError('CONFIG_INVALID', `checkpoint line '${line}' is empty or holds a control character`);
  }
  if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) throw new RangeError(`tree size ${c.treeSize}`);
  return `${c.origin}\n${c.treeSize}\n${c.rootHash.toString('base64')}\n${c.extensions.map((e) => `${e}\n`).join('')}`;
}

export function parseCheckpointBody(body: string): CheckpointBody {
  const bad = (why: string): never => {
    throw new RegistoError('AUDIT_NOTE_INVALID', `checkpoint body: ${why}`);
  };
  if (!body.endsWith('\n')) bad('does not end in a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) bad('fewer than three lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) bad('empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) bad(`tree size '${size}' is not a decimal number`);
  const rootHash = decodeBase64Strict(root);
  if (!rootHash || rootHash.length !== 32) return bad('root hash is not 32 bytes of base64');
  if (extensions.some((e) => e.length === 0)) bad('empty extension line');
  return { origin, treeSize: Number(size), rootHash, extensions };
}

/** The value of the first extension line `<name> <value>`, if any. */
export function extensionValue(body: CheckpointBody, name: string): string | undefined {
  const line = body.extensions.find((e) => e.startsWith(`${name} `));
  return line?.slice(name.length + 1);
}

/** signed-note key ID for type 0x02: SHA-256(DER SubjectPublicKeyInfo)[:4]. */
export function ecdsaKeyId(spki: Buffer): Buffer {
  return createHash('sha256').update(spki).digest().subarray(0, 4);
}

export interface NoteSignature {
  keyName: string;
  keyId: Buffer;
  signature: Buffer;
}

export interface ParsedNote {
  /** The signed text, final newline included. */
  body: string;
  signatures: NoteSignature[];
}

/** Signs `body` as a note: `sign` returns the DER ECDSA signature over SHA-256(body). */
export async function signNote(body: string, keyName: string, spki: Buffer, sign: (data: Buffer) => Promise<Buffer>): Promise<string> {
  if (!/^[^\s+]+$/u.test(keyName)) throw new RegistoError('CONFIG_INVALID', `note key name '${keyName}' must be non-empty with no space or '+'`);
  const signature = await sign(Buffer.from(body, 'utf8'));
  return `${body}\n— ${keyName} ${Buffer.concat([ecdsaKeyId(spki), signature]).toString('base64')}\n`;
}

export function parseNote(note: string): ParsedNote {
  const bad = (why: string): never => {
    throw new RegistoError('AUDIT_NOTE_INVALID', `signed note: ${why}`);
  };
  // eslint-disable-next-line no-control-regex -- the check is for control characters (newline aside)
  if (/[\x00-\x09\x0b-\x1f]/.test(note)) bad('holds a control character');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) bad('no blank line before the signatures');
  const body = note.slice(0, split + 1);
  const signatures = note
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/u.exec(line);
      if (!m) return bad(`signature line '${line.slice(0, 60)}' is not '— <name> <base64>'`);
      const raw = decodeBase64Strict(m[2]!);
      if (!raw) return bad('signature is not canonical base64');
      if (raw.length < 5) return bad('signature shorter than its key ID');
      return { keyName: m[1]!, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
    });
  return { body, signatures };
}

/**
 * True when the note carries a signature by `keyName` with the ECDSA key `spki` that verifies over
 * the body. Signatures of other keys are ignored, as signed-note asks.
 */
export function verifyNoteSignature(note: ParsedNote, keyName: string, spki: Buffer): boolean {
  const id = ecdsaKeyId(spki);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const mine = note.signatures.filter((s) => s.keyName === keyName && s.keyId.equals(id));
  if (mine.length === 0) return false;
  return mine.every((s) => {
    try {
      return nodeVerify('sha256', Buffer.from(note.body, 'utf8'), { key, dsaEncoding: 'der' }, s.signature);
    } catch {
      return false;
    }
  });
}

/** Hex SHA-256 of a whole signed note: what the next checkpoint's `previous` line and the timestamp cover. */
export function noteDigest(note: string): Buffer {
  return createHash('sha256').update(note, 'utf8').digest();
}

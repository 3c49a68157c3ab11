import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { EventStore, SqlDriver } from '@registo/event-store';
import {
  SqlTreeStore,
  type StoredCheckpoint,
  type Witness,
  ecdsaKeyId,
  parseNote,
  verifyCosignature,
  witnessVerifierKey,
} from '@registo/audit';
import { RegistoError } from '@registo/schemas';
import type { ApiTokens } from '../auth/tokens.js';
import { exportLines } from './export-lines.js';
import { auditHealth } from './health.js';
import { WHOLE_NUMBER, querySchema } from '../http/request-schema.js';

/** A query of whole numbers only (sizes, positions, limits). */
const numbers = (...names: string[]) => querySchema(Object.fromEntries(names.map((n) => [n, { pattern: WHOLE_NUMBER }])));

/** What an auditor needs to verify checkpoints: the checkpoint key and the certificates behind it. */
export interface AuditKeys {
  /** Checkpoint origin, also the note key name. */
  origin: string;
  checkpointSpki: Buffer;
  checkpointCertificatePem: string;
  /** The timestamp authority's certificate (its tokens also carry it). */
  tsaCertificatePem: string | null;
  /** Issuer chain of both, up to the root. */
  caCertificatePems: string[];
  signerMode: 'qualified' | 'non_qualified';
}

export interface AuditDeps {
  db: SqlDriver;
  store: EventStore;
  tokens: ApiTokens;
  keys: AuditKeys;
  /** Witnesses whose C2SP cosignatures are accepted (REGISTO_AUDIT_WITNESSES). */
  witnesses?: readonly Witness[];
}

const tree = new SqlTreeStore();
const AUDITORS = ['auditor', 'operator'] as const;

function wholeNumber(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]{1,16}$/.test(v) || Number(v) < min) throw new RegistoError('REQUEST_INVALID', `${name} must be a whole number ≥ ${min}`, { parameter: name });
  return Number(v);
}

const checkpointView = (c: StoredCheckpoint) => ({
  treeSize: c.treeSize,
  rootHash: c.rootHash.toString('hex'),
  position: c.position,
  signedAt: c.signedAt,
  note: c.note,
  timestampToken: c.timestampToken?.toString('base64') ?? null,
});

/** The PEM of a DER SubjectPublicKeyInfo. */
const spkiPem = (spki: Buffer): string => `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PUBLIC KEY-----\n`;

async function latest(db: SqlDriver): Promise<StoredCheckpoint> {
  const [c] = await tree.checkpoints(db, { latest: true, limit: 1 });
  if (!c) throw new RegistoError('AUDIT_NO_CHECKPOINT', 'no checkpoint has been signed yet');
  return c;
}

async function treeSize(db: SqlDriver): Promise<number> {
  return tree.size(db);
}

/**
 * The auditor API (gateways/audit, docs/audit.md). Checkpoints, proofs and keys are public, as a
 * transparency log's are; the export and the health view, which read every event, need an auditor
 * or operator token.
 */
export function registerAuditRoutes(app: FastifyInstance, deps: AuditDeps): void {
  registerCheckpointRoutes(app, deps);
  registerProofRoutes(app, deps);
  registerKeyRoutes(app, deps);
  registerAuditorRoutes(app, deps);
}

/** The signed checkpoints (as a note, as JSON, by size, in a range) and the witnesses' cosignatures of them. */
function registerCheckpointRoutes(app: FastifyInstance, deps: AuditDeps): void {
  const { db } = deps;
  const witnesses = deps.witnesses ?? [];
  const withCosignatures = async (c: StoredCheckpoint) => ({
    ...checkpointView(c),
    cosignatures: (await tree.cosignatures(db, c.treeSize)).map(({ witness, keyId, timestamp }) => ({ witness, keyId, timestamp })),
  });

  // The latest note with every witness cosignature appended as a further signature line (C2SP
  // signed-note: verifiers ignore lines of keys they do not know).
  app.get('/v1/audit/checkpoint', async (_request, reply) => {
    const c = await latest(db);
    const lines = (await tree.cosignatures(db, c.treeSize)).map((s) => `${s.line}\n`).join('');
    return reply.type('text/plain; charset=utf-8').send(`${c.note}${lines}`);
  });

  app.get('/v1/audit/checkpoints/latest', async () => withCosignatures(await latest(db)));

  app.get<{ Params: { treeSize: string } }>('/v1/audit/checkpoints/:treeSize', async (request) => {
    const size = wholeNumber('treeSize', request.params.treeSize, 1)!;
    const [c] = await tree.checkpoints(db, { fromSize: size, toSize: size, limit: 1 });
    if (!c) throw new RegistoError('AUDIT_NO_CHECKPOINT', `no checkpoint of size ${size}`, { treeSize: size });
    return withCosignatures(c);
  });

  // A witness (c2sp.org/tlog-witness) answers the checkpoint it was sent with cosignature lines;
  // they are accepted here from known witnesses only, each checked over the checkpoint body.
  app.post<{ Params: { treeSize: string }; Body: string }>('/v1/audit/checkpoints/:treeSize/cosignatures', { bodyLimit: 16 * 1024 }, async (request) => {
    const size = wholeNumber('treeSize', request.params.treeSize, 1)!;
    if (typeof request.body !== 'string') throw new RegistoError('REQUEST_INVALID', 'send the cosignature lines as text/plain');
    const [c] = await tree.checkpoints(db, { fromSize: size, toSize: size, limit: 1 });
    if (!c) throw new RegistoError('AUDIT_NO_CHECKPOINT', `no checkpoint of size ${size}`, { treeSize: size });
    const body = parseNote(c.note).body;
    const lines = request.body.split('\n').filter((l) => l.trim().length > 0);
    if (lines.length === 0) throw new RegistoError('REQUEST_INVALID', 'no cosignature line in the body');
    const accepted = lines.map((line) => verifyCosignature(line, body, witnesses));
    for (const a of accepted) await tree.insertCosignature(db, size, a);
    return { treeSize: size, accepted: accepted.map(({ witness, keyId, timestamp }) => ({ witness, keyId, timestamp })) };
  });

  app.get<{ Querystring: { fromSize?: string; toSize?: string; limit?: string } }>('/v1/audit/checkpoints', { schema: { querystring: numbers('fromSize', 'toSize', 'limit') } }, async (request) => {
    const fromSize = wholeNumber('fromSize', request.query.fromSize, 0) ?? 0;
    const toSize = wholeNumber('toSize', request.query.toSize, 0);
    const limit = Math.min(wholeNumber('limit', request.query.limit, 1) ?? 100, 1000);
    const items = await tree.checkpoints(db, { fromSize, toSize, limit });
    return { items: items.map(checkpointView) };
  });
}

/** Inclusion and consistency proofs over the tree. */
function registerProofRoutes(app: FastifyInstance, deps: AuditDeps): void {
  const { db } = deps;
  app.get<{ Querystring: { position?: string; treeSize?: string } }>('/v1/audit/proofs/inclusion', { schema: { querystring: numbers('position', 'treeSize') } }, async (request) => {
    const position = wholeNumber('position', request.query.position, 1);
    if (position === undefined) throw new RegistoError('REQUEST_INVALID', 'position is required', { parameter: 'position' });
    const size = wholeNumber('treeSize', request.query.treeSize, 1) ?? (await latest(db)).treeSize;
    const have = await treeSize(db);
    if (size > have) throw new RegistoError('AUDIT_TREE_SIZE_INVALID', `the tree has ${have} leaves, not ${size}`, { treeSize: size, have });
    if (position > size) throw new RegistoError('AUDIT_TREE_SIZE_INVALID', `position ${position} is not in a tree of ${size}`, { position, treeSize: size });
    const p = await tree.inclusionProof(db, position - 1, size);
    return { position, leafIndex: position - 1, treeSize: size, leafHash: p.leafHash.toString('hex'), rootHash: p.rootHash.toString('hex'), proof: p.proof.map((h) => h.toString('hex')) };
  });

  app.get<{ Querystring: { from?: string; to?: string } }>('/v1/audit/proofs/consistency', { schema: { querystring: numbers('from', 'to') } }, async (request) => {
    const from = wholeNumber('from', request.query.from, 1);
    if (from === undefined) throw new RegistoError('REQUEST_INVALID', 'from (the first tree size) is required', { parameter: 'from' });
    const to = wholeNumber('to', request.query.to, 1) ?? (await latest(db)).treeSize;
    const have = await treeSize(db);
    if (to > have || from > to) throw new RegistoError('AUDIT_TREE_SIZE_INVALID', `no consistency proof from ${from} to ${to} in a tree of ${have}`, { from, to, have });
    const p = await tree.consistencyProof(db, from, to);
    return { from, to, firstRootHash: p.firstRoot.toString('hex'), secondRootHash: p.secondRoot.toString('hex'), proof: p.proof.map((h) => h.toString('hex')) };
  });
}

/** The keys an auditor verifies checkpoints with. */
function registerKeyRoutes(app: FastifyInstance, deps: AuditDeps): void {
  const witnesses = deps.witnesses ?? [];
  app.get('/v1/audit/keys', async () => {
    const k = deps.keys;
    return {
      checkpoint: {
        keyName: k.origin,
        signatureType: 2,
        algorithm: 'ECDSA P-256, SHA-256, DER (signed-note type 0x02)',
        keyId: ecdsaKeyId(k.checkpointSpki).toString('hex'),
        /** The note verifier key in the form Go's golang.org/x/mod/sumdb/note uses: name+keyid+base64(type ‖ key). */
        verifierKey: `${k.origin}+${ecdsaKeyId(k.checkpointSpki).toString('hex')}+${Buffer.concat([Buffer.from([2]), k.checkpointSpki]).toString('base64')}`,
        publicKeyPem: spkiPem(k.checkpointSpki),
        certificatePem: k.checkpointCertificatePem,
      },
      timestamping: k.tsaCertificatePem ? { certificatePem: k.tsaCertificatePem } : null,
      caCertificatePems: k.caCertificatePems,
      signerMode: k.signerMode,
      witnesses: witnesses.map((w) => witnessVerifierKey(w.name, w.publicKey)),
    };
  });
}

/** What reads every event: the export and the health view, for auditors and operators only. */
function registerAuditorRoutes(app: FastifyInstance, deps: AuditDeps): void {
  const { db } = deps;
  app.get<{ Querystring: { from?: string; to?: string } }>('/v1/audit/export', { schema: { querystring: numbers('from', 'to') } }, async (request, reply) => {
    deps.tokens.authorize(request, AUDITORS);
    const have = await treeSize(db);
    const from = wholeNumber('from', request.query.from, 1) ?? 1;
    const to = Math.min(wholeNumber('to', request.query.to, 1) ?? have, have);
    if (from > to + 1) throw new RegistoError('AUDIT_TREE_SIZE_INVALID', `export ${from}–${to}: the tree has ${have} leaves`, { from, to, have });
    const lines = exportLines({ db, store: deps.store, origin: deps.keys.origin, from, to });
    return reply.type('application/x-ndjson').header('content-disposition', `attachment; filename="registo-audit-${from}-${to}.ndjson"`).send(Readable.from(lines));
  });

  app.get<{ Querystring: { from?: string; to?: string; maxFindings?: string } }>('/v1/audit/health', { schema: { querystring: numbers('from', 'to', 'maxFindings') } }, async (request) => {
    deps.tokens.authorize(request, AUDITORS);
    const from = wholeNumber('from', request.query.from, 1);
    const to = wholeNumber('to', request.query.to, 1);
    const maxFindings = wholeNumber('maxFindings', request.query.maxFindings, 0);
    return auditHealth({ db, store: deps.store, keys: deps.keys, from, to, maxFindings });
  });
}

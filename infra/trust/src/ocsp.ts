import { createHash } from 'node:crypto';
import type { Signer } from '@registo/hsm';
import type { Logger } from '@registo/base';
import { isRegistoError } from '@registo/schemas';
import { RootCertificates, WithHierarchyCertificates, hierarchySerialsIssuedBy } from './hierarchy-status.js';
import { type IssuerHashes, issuerHashesOf } from './issuer-hashes.js';
import { type RequestedCertId, decodeOcspRequest, isRequestProblem } from './ocsp-request.js';
import { OCSP_ERROR_RESPONSES, OcspResponseEncoder, type OcspResponseStatus } from './ocsp-response.js';
import type { CertificateStatus, CertificateStatusSource } from './ports.js';
import type { TrustKeys } from './trust-keys.js';

/*
 * The OCSP responder (RFC 6960) at the URL every certificate of the platform names. It answers for
 * each CA of the hierarchy that issues certificates naming it (RFC 6960 §4.2.2.2 says who may sign):
 * - the identity CA — holders, and the TSA and checkpoint signers (and the OCSP signer's, though it
 *   is never asked: nocheck) — signed by its delegated OCSP signer;
 * - the root CA — the identity CA's certificate — signed by the root's own key, since the OCSP
 *   signer is the identity CA's delegate and may not speak for the root.
 * One request names one issuer: its answer is signed by one key.
 *
 * Speed comes from doing little per request. A request without a nonce asking about one
 * certificate — what browsers and most libraries send — is answered from a cache keyed by the
 * request's bytes: no decoding, no lookup, no signature. Cached answers live until the status of
 * their serial changes (the source's `revision()` is polled and `changesSince` names the serials),
 * or `maxAgeSeconds` at most. Requests with a nonce must be signed fresh; the status they need is
 * cached the same way, so they cost one signature.
 */

export interface OcspResponderOptions {
  /** The CAs' certificates, the OCSP signer's and root's keys, the hierarchy's certificates. */
  trust: Pick<TrustKeys, 'signers' | 'certificates'>;
  /** The status of the holder certificates (the credential read model); the hierarchy's own are added here. */
  status: CertificateStatusSource;
  /** nextUpdate − thisUpdate of every answer. Default 600 s. */
  validitySeconds?: number;
  /** How long a signed answer or a looked-up status is reused at most. Default 60 s. */
  maxAgeSeconds?: number;
  /** How often the source's revision is read. Default 250 ms; 0: only on `notify()`. */
  pollMs?: number;
  /** Answers kept (oldest dropped first). Default 100,000. */
  maxEntries?: number;
  logger?: Logger;
}

export interface OcspAnswer {
  /** The DER OCSPResponse. */
  der: Buffer;
  responseStatus: OcspResponseStatus;
  /** Seconds a shared HTTP cache may keep this answer; 0 when it must not be cached (a nonce, an error). */
  maxAgeSeconds: number;
  producedAt?: Date;
  etag?: string;
  /** Why a request was refused (for logs; not sent). */
  detail?: string;
}

interface CachedAnswer {
  der: Buffer;
  serialHex: string;
  producedAt: Date;
  expiresAt: number;
  etag: string;
}

interface CachedStatus {
  status: CertificateStatus;
  expiresAt: number;
}

/** A CA this responder answers for: how its CertIDs name it, who signs, where its statuses come from. */
interface ServedIssuer {
  hashes: IssuerHashes;
  encoder: OcspResponseEncoder;
  status: CertificateStatusSource;
  /** Looked-up statuses are cached and dropped as the source's revision moves (the identity CA); the root's are fixed. */
  cachesStatuses: boolean;
}

async function servedIssuer(caCertificateDer: Buffer, signer: Signer, signerCertificateDer: Buffer, status: CertificateStatusSource, cachesStatuses: boolean): Promise<ServedIssuer> {
  const encoder = new OcspResponseEncoder({ signer, signerCertificateDer, signerPublicKeySpki: await signer.publicKeySpki() });
  return { hashes: issuerHashesOf(caCertificateDer), encoder, status, cachesStatuses };
}

/** A request at most this long is looked up by its bytes (a one-CertID request is about 80). */
const MAX_KEYED_REQUEST = 512;

function failure(responseStatus: Exclude<OcspResponseStatus, 'successful'>, detail: string): OcspAnswer {
  return { der: OCSP_ERROR_RESPONSES[responseStatus], responseStatus, maxAgeSeconds: 0, detail };
}

export class OcspResponder {
  private readonly validityMs: number;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly answers = new Map<string, CachedAnswer>();
  private readonly keysBySerial = new Map<string, Set<string>>();
  private readonly statuses = new Map<string, CachedStatus>();
  private readonly unknownSerials = new Set<string>();
  private readonly inflight = new Map<string, Promise<CachedAnswer>>();
  /** Bumped whenever something is invalidated: a lookup that started before is not cached. */
  private generation = 0;
  private lastRevision: number | null = null;
  private checking: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  readonly stats = { requests: 0, cacheHits: 0, signed: 0, refused: 0 };

  private constructor(
    private readonly options: OcspResponderOptions,
    /** The identity CA: its source's revision drives the caches. */
    private readonly identity: ServedIssuer,
    private readonly issuers: readonly ServedIssuer[],
  ) {
    this.validityMs = (options.validitySeconds ?? 600) * 1000;
    this.maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  static async create(options: OcspResponderOptions): Promise<OcspResponder> {
    const { signers, certificates } = options.trust;
    const identityStatus = new WithHierarchyCertificates(hierarchySerialsIssuedBy(options.trust, 'identity_ca'), options.status);
    const identity = await servedIssuer(certificates.identity_ca.der, signers.ocsp_signer, certificates.ocsp_signer.der, identityStatus, true);
    // The root's answers carry the root certificate, so that a client finds the signer (it is its trust anchor).
    const root = await servedIssuer(certificates.root_ca.der, signers.root_ca, certificates.root_ca.der, new RootCertificates(hierarchySerialsIssuedBy(options.trust, 'root_ca')), false);
    const responder = new OcspResponder(options, identity, [identity, root]);
    await responder.notify();
    const pollMs = options.pollMs ?? 250;
    if (pollMs > 0) {
      responder.timer = setInterval(() => void responder.notify(), pollMs);
      responder.timer.unref();
    }
    return responder;
  }

  /** Answers one DER OCSPRequest. Never throws: every failure is an OCSPResponse status. */
  async respond(der: Buffer): Promise<OcspAnswer> {
    this.stats.requests++;
    const key = der.length <= MAX_KEYED_REQUEST ? der.toString('latin1') : null;
    if (key !== null) {
      const hit = this.answers.get(key);
      if (hit && hit.expiresAt > Date.now()) {
        this.stats.cacheHits++;
        return this.successful(hit);
      }
    }
    const decoded = decodeOcspRequest(der);
    if (isRequestProblem(decoded)) {
      this.stats.refused++;
      return failure(decoded.problem, decoded.detail);
    }
    const named = decoded.certIds.map((c) => this.issuers.find((i) => i.hashes.matches(c.hashAlgorithm, c.issuerNameHash, c.issuerKeyHash)));
    const foreign = decoded.certIds.find((_, i) => named[i] === undefined);
    if (foreign) {
      this.stats.refused++;
      return failure('unauthorized', `this responder answers for the identity CA and the root CA only (CertID of serial ${foreign.serialHex} names another issuer or an unsupported hash ${foreign.hashAlgorithm})`);
    }
    const issuer = named[0]!;
    if (named.some((i) => i !== issuer)) {
      this.stats.refused++;
      return failure('unauthorized', 'the CertIDs of one request must name one issuer: its answer is signed by one responder');
    }
    try {
      if (decoded.nonceExtnValue === null && decoded.certIds.length === 1 && key !== null && this.lastRevision !== null) {
        return this.successful(await this.cachedAnswer(key, issuer, decoded.certIds[0]!));
      }
      const statuses = await Promise.all(decoded.certIds.map((c) => this.statusOf(issuer, c.serialHex, this.generation)));
      const producedAt = new Date();
      const out = await this.sign(issuer, decoded.certIds, statuses, producedAt, decoded.nonceExtnValue);
      return { der: out, responseStatus: 'successful', maxAgeSeconds: 0, producedAt };
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'OCSP: could not answer');
      // A source or signer that is unavailable for now (503-class) is worth retrying.
      return isRegistoError(error) && error.status === 503 ? failure('tryLater', (error as Error).message) : failure('internalError', (error as Error).message);
    }
  }

  /**
   * Reads the source's revision now and drops what changed since the last read: the answers and
   * statuses of the serials `changesSince` names, and every `unknown` (a serial may have been issued).
   */
  notify(): Promise<void> {
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Answers and statuses held (for tests and the bench). */
  get cacheSize(): { answers: number; statuses: number } {
    return { answers: this.answers.size, statuses: this.statuses.size };
  }

  private async check(): Promise<void> {
    let revision: number;
    try {
      revision = await this.identity.status.revision();
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'OCSP: status source revision unavailable; answers are not cached meanwhile');
      this.clear();
      this.lastRevision = null;
      return;
    }
    const last = this.lastRevision;
    if (last === revision) return;
    if (last === null || revision < last) {
      this.clear();
      this.lastRevision = revision;
      return;
    }
    try {
      const changes = await this.identity.status.changesSince(last);
      const serials = new Set([...this.unknownSerials, ...changes.map((c) => c.serialHex)]);
      this.invalidate(serials);
      this.lastRevision = changes.reduce((max, c) => Math.max(max, c.revision), revision);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'OCSP: status changes unavailable; cache dropped');
      this.clear();
      this.lastRevision = null;
    }
  }

  private invalidate(serials: Iterable<string>): void {
    this.generation++;
    for (const serial of serials) {
      this.statuses.delete(serial);
      this.unknownSerials.delete(serial);
      for (const key of this.keysBySerial.get(serial) ?? []) this.answers.delete(key);
      this.keysBySerial.delete(serial);
    }
  }

  private clear(): void {
    this.generation++;
    this.answers.clear();
    this.keysBySerial.clear();
    this.statuses.clear();
    this.unknownSerials.clear();
  }

  private async statusOf(issuer: ServedIssuer, serialHex: string, generation: number): Promise<CertificateStatus> {
    if (!issuer.cachesStatuses) return issuer.status.statusOf(serialHex);
    const cached = this.statuses.get(serialHex);
    if (cached && cached.expiresAt > Date.now()) return cached.status;
    const status = await issuer.status.statusOf(serialHex);
    if (generation === this.generation && this.lastRevision !== null) {
      if (this.statuses.size >= this.maxEntries) this.statuses.delete(this.statuses.keys().next().value!);
      this.statuses.set(serialHex, { status, expiresAt: Date.now() + this.maxAgeMs });
      if (status.status === 'unknown') this.unknownSerials.add(serialHex);
    }
    return status;
  }

  private cachedAnswer(key: string, issuer: ServedIssuer, certId: RequestedCertId): Promise<CachedAnswer> {
    const running = this.inflight.get(key);
    if (running) return running;
    const generation = this.generation;
    const work = (async () => {
      const status = await this.statusOf(issuer, certId.serialHex, generation);
      const producedAt = new Date();
      const der = await this.sign(issuer, [certId], [status], producedAt, null);
      const entry: CachedAnswer = {
        der,
        serialHex: certId.serialHex,
        producedAt,
        expiresAt: producedAt.getTime() + Math.min(this.maxAgeMs, this.validityMs),
        etag: `"${createHash('sha1').update(der).digest('hex')}"`,
      };
      if (generation === this.generation) this.remember(key, entry);
      return entry;
    })().finally(() => this.inflight.delete(key));
    this.inflight.set(key, work);
    return work;
  }

  private remember(key: string, entry: CachedAnswer): void {
    if (this.answers.size >= this.maxEntries) {
      const [oldKey, old] = this.answers.entries().next().value!;
      this.answers.delete(oldKey);
      this.keysBySerial.get(old.serialHex)?.delete(oldKey);
    }
    this.answers.set(key, entry);
    let keys = this.keysBySerial.get(entry.serialHex);
    if (!keys) this.keysBySerial.set(entry.serialHex, (keys = new Set()));
    keys.add(key);
  }

  private async sign(issuer: ServedIssuer, certIds: readonly RequestedCertId[], statuses: readonly CertificateStatus[], producedAt: Date, nonce: Buffer | null): Promise<Buffer> {
    // Whole seconds, as GeneralizedTime carries them; nextUpdate from the same second.
    const second = new Date(Math.floor(producedAt.getTime() / 1000) * 1000);
    const der = await issuer.encoder.encode(
      certIds.map((c, i) => ({ certIdDer: c.der, status: statuses[i]! })),
      { producedAt: second, nextUpdate: new Date(second.getTime() + this.validityMs) },
      nonce,
    );
    this.stats.signed++;
    return der;
  }

  private successful(entry: CachedAnswer): OcspAnswer {
    return {
      der: entry.der,
      responseStatus: 'successful',
      maxAgeSeconds: Math.max(0, Math.floor((entry.expiresAt - Date.now()) / 1000)),
      producedAt: entry.producedAt,
      etag: entry.etag,
    };
  }
}

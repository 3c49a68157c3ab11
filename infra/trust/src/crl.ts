import type { Logger } from '@registo/base';
import type { CrlNumberStore } from './crl-numbers.js';
import { type CrlEntry, encodeCrl } from './crl-encoding.js';
import type { CertificateStatusChange, CertificateStatusSource, RevokedCertificate } from './ports.js';
import { crlUrl, trustKey } from './profiles.js';
import type { TrustKeys } from './trust-keys.js';

/*
 * The CRLs of the hierarchy (RFC 5280 §5), kept current by a `CrlPublisher`:
 * - the identity CA's full CRL: every certificate revoked or on hold, with its reason, the CRL
 *   number, the authority key identifier, and freshestCRL naming the delta;
 * - its delta CRL (deltaCRLIndicator = the base CRL's number): what changed since the base,
 *   reinstated certificates as removeFromCRL;
 * - the root CA's CRL, covering the identity CA's certificate (empty unless it were revoked).
 *
 * The base is renewed on the schedule (every `intervalSeconds`); between two, every change of the
 * source's revision publishes a new full CRL and a new delta against the same base, so a relying
 * party holding any full CRL since the base can apply the delta.
 *
 * A full CRL and the delta published with it are one issue of the CA's CRL and carry the same CRL
 * number (RFC 5280 §5.2.3: "the complete CRL and delta CRL MUST" share it when issued together),
 * taken once per publication from the CA's single sequence. A delta published with a new base
 * names that base, its own number: it lists nothing, and a relying party holding an older full
 * CRL fetches the new one.
 */

export type CrlName = 'identity-ca' | 'identity-ca-delta' | 'root-ca';

/** URL of the identity CA's delta CRL (named in its full CRL's freshestCRL). */
export const deltaCrlUrl = (publicUrl: string): string => crlUrl(publicUrl, 'identity-ca-delta');

export interface PublishedCrl {
  name: CrlName;
  der: Buffer;
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The base CRL's number (delta CRLs only). */
  deltaOf?: number;
  entries: number;
}

export interface CrlPublisherOptions {
  trust: Pick<TrustKeys, 'signers' | 'certificates'>;
  status: CertificateStatusSource;
  numbers: CrlNumberStore;
  /** `REGISTO_PUBLIC_URL`, for the freshestCRL URL. */
  publicUrl: string;
  /** Seconds between scheduled publications (and a new base). Default 3600. */
  intervalSeconds?: number;
  /** How often the source's revision is read for changes. Default 1000 ms; 0: only on `notify()`. */
  pollMs?: number;
  /**
   * Revoked certificates of the root CA, i.e. the identity CA's certificate if it ever were
   * (normally none; the root is offline otherwise).
   */
  rootRevoked?: () => Promise<CrlEntry[]>;
  logger?: Logger;
}

interface Base {
  number: number;
  revision: number;
  /** When each certificate on the base was revoked, for removeFromCRL entries. */
  revokedAt: Map<string, Date>;
}

const second = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** The state of each serial after `changes`, last change winning. */
function lastChanges(changes: readonly CertificateStatusChange[]): Map<string, CertificateStatusChange> {
  const out = new Map<string, CertificateStatusChange>();
  for (const c of changes) out.set(c.serialHex, c);
  return out;
}

export class CrlPublisher {
  private readonly intervalMs: number;
  private readonly published = new Map<CrlName, PublishedCrl>();
  private base: Base | null = null;
  private publishedRevision: number | null = null;
  private queue: Promise<void> = Promise.resolve();
  private pending: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  private constructor(private readonly options: CrlPublisherOptions) {
    this.intervalMs = (options.intervalSeconds ?? 3600) * 1000;
  }

  /** Publishes every CRL once (a new base), then keeps them current. */
  static async start(options: CrlPublisherOptions): Promise<CrlPublisher> {
    const publisher = new CrlPublisher(options);
    await publisher.publish({ rebase: true, root: true });
    publisher.timers.push(setInterval(() => void publisher.publish({ rebase: true, root: true }).catch(() => undefined), publisher.intervalMs));
    const pollMs = options.pollMs ?? 1000;
    if (pollMs > 0) publisher.timers.push(setInterval(() => void publisher.notify().catch(() => undefined), pollMs));
    for (const t of publisher.timers) t.unref();
    return publisher;
  }

  /** The current DER CRL of that name. */
  current(name: CrlName): PublishedCrl {
    return this.published.get(name)!;
  }

  /**
   * Republishes the identity CA's CRLs if a status changed since they were made. The revision may
   * also move for other reasons (a read model's position grows with every event it applies, an
   * issuance among them): only a change `changesSince` names is worth two signatures and a new list.
   */
  notify(): Promise<void> {
    this.pending ??= this.enqueue(async () => {
      this.pending = null;
      const revision = await this.options.status.revision();
      const published = this.publishedRevision;
      if (revision === published) return;
      if (published !== null && revision > published && (await this.options.status.changesSince(published)).length === 0) {
        this.publishedRevision = revision;
        return;
      }
      await this.publishIdentity(false, revision);
    });
    return this.pending;
  }

  /** Publishes now: the identity CA's full and delta CRLs (against a new base when `rebase`), and the root's when `root`. */
  publish(what: { rebase?: boolean; root?: boolean } = {}): Promise<void> {
    return this.enqueue(async () => {
      await this.publishIdentity(what.rebase ?? false, await this.options.status.revision());
      if (what.root) await this.publishRoot();
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
  }

  /** Publications run one at a time, in order; a failed one leaves the last CRLs in place. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await work();
      } catch (error) {
        this.options.logger?.error({ err: error }, 'CRL: publication failed; the previous CRLs stay published');
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private times(): { thisUpdate: Date; nextUpdate: Date } {
    const thisUpdate = second(new Date());
    // The next scheduled publication is at most one interval away; a tenth more covers a late timer.
    return { thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + Math.ceil(this.intervalMs * 1.1 / 1000) * 1000) };
  }

  private async publishIdentity(rebase: boolean, revision: number): Promise<void> {
    const { status, numbers, trust, publicUrl } = this.options;
    // The revision is read before the lists: a change landing in between is published next time.
    const revoked: RevokedCertificate[] = await status.revoked();
    // One number for both lists of this publication (RFC 5280 §5.2.3).
    const number = await numbers.next('identity-ca');
    if (rebase || !this.base || revision < this.base.revision) {
      this.base = { number, revision, revokedAt: new Map(revoked.map((r) => [r.serialHex, r.revokedAt])) };
    }
    const base = this.base;
    const changes = lastChanges(await status.changesSince(base.revision));
    const { thisUpdate, nextUpdate } = this.times();
    const issuer = { issuerCertificateDer: trust.certificates.identity_ca.der, signer: trust.signers.identity_ca };
    const fullEntries: CrlEntry[] = revoked.map((r) => ({ serialHex: r.serialHex, reason: r.reason, revokedAt: r.revokedAt }));
    const full = await encodeCrl({ ...issuer, number, thisUpdate, nextUpdate, entries: fullEntries, freshestCrlUrl: deltaCrlUrl(publicUrl) });
    const deltaEntries: CrlEntry[] = [...changes.values()].map((c) =>
      c.status === 'revoked'
        ? { serialHex: c.serialHex, reason: c.reason ?? 'unspecified', revokedAt: c.revokedAt ?? thisUpdate }
        : { serialHex: c.serialHex, reason: 'removeFromCRL', revokedAt: base.revokedAt.get(c.serialHex) ?? thisUpdate },
    );
    const delta = await encodeCrl({ ...issuer, number, thisUpdate, nextUpdate, entries: deltaEntries, deltaOf: base.number });
    this.published.set('identity-ca', { name: 'identity-ca', der: full, number, thisUpdate, nextUpdate, entries: fullEntries.length });
    this.published.set('identity-ca-delta', { name: 'identity-ca-delta', der: delta, number, thisUpdate, nextUpdate, deltaOf: base.number, entries: deltaEntries.length });
    this.publishedRevision = revision;
    this.options.logger?.info({ number, baseNumber: base.number, revoked: fullEntries.length, changed: deltaEntries.length, revision }, 'CRL: identity CA published');
  }

  private async publishRoot(): Promise<void> {
    const { trust, numbers } = this.options;
    const entries = (await this.options.rootRevoked?.()) ?? [];
    const number = await numbers.next(trustKey('root_ca').urlName!);
    const { thisUpdate, nextUpdate } = this.times();
    const der = await encodeCrl({ issuerCertificateDer: trust.certificates.root_ca.der, signer: trust.signers.root_ca, number, thisUpdate, nextUpdate, entries });
    this.published.set('root-ca', { name: 'root-ca', der, number, thisUpdate, nextUpdate, entries: entries.length });
  }
}

import { Worker } from 'node:worker_threads';
import { type ErrorCode, RegistoError } from '@registo/schemas';
import type { CsrCheckJob, CsrCheckResult } from './csr-worker.js';

/** What a checked CSR gives issuance: the key to certify. */
export interface CheckedCsrKey {
  subjectPublicKeyInfo: Buffer;
  point: Buffer;
}

interface Pending {
  resolve(key: CheckedCsrKey): void;
  reject(error: Error): void;
}

/** Largest batch sent to a worker at once: large enough to amortise the message, small enough to spread. */
const MAX_BATCH = 32;

/**
 * CSR checks on worker threads. Importing a holder's key and verifying its ECDSA signature cost
 * more than signing the certificate; here they run on `size` threads beside the main one, which
 * keeps to the template and the signature. Requests are sent in batches (one message per batch
 * each way); a worker with nothing to do does not keep the process alive.
 */
export class CsrCheckPool {
  private readonly workers: { worker: Worker; inFlight: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private queue: CsrCheckJob[] = [];
  private nextId = 0;
  private flushing = false;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./csr-worker.js', import.meta.url));
      const slot = { worker, inFlight: 0 };
      worker.on('message', (results: CsrCheckResult[]) => this.settle(slot, results));
      worker.on('error', (error) => this.fail(error));
      worker.unref();
      this.workers.push(slot);
    }
  }

  check(der: Buffer): Promise<CheckedCsrKey> {
    if (this.closed) return Promise.reject(new RegistoError('CONFIG_INVALID', 'the CSR check pool is closed'));
    const id = this.nextId++;
    return new Promise<CheckedCsrKey>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, der });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends what queued up this turn, in batches, each to the worker with the least in flight. */
  private flush(): void {
    this.flushing = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const slot = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (slot.inFlight === 0) slot.worker.ref();
      slot.inFlight += batch.length;
      slot.worker.postMessage(batch);
    }
  }

  private settle(slot: { worker: Worker; inFlight: number }, results: CsrCheckResult[]): void {
    slot.inFlight -= results.length;
    if (slot.inFlight === 0) slot.worker.unref();
    for (const r of results) {
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id);
      if (r.ok) p.resolve({ subjectPublicKeyInfo: Buffer.from(r.subjectPublicKeyInfo), point: Buffer.from(r.point) });
      else p.reject(new RegistoError(r.code as ErrorCode, r.message, r.details));
    }
  }

  private fail(error: Error): void {
    for (const p of this.pending.values()) p.reject(new RegistoError('CONFIG_INVALID', `a CSR check worker failed: ${error.message}`));
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.fail(new Error('closed'));
  }
}

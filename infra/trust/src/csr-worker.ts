import { parentPort } from 'node:worker_threads';
import { RegistoError } from '@registo/schemas';
import { checkCsrHere } from './csr.js';

/*
 * A worker thread of `CsrCheckPool`: checks batches of CSRs (parse, key import, signature) so
 * that the costly part — importing the key and verifying ECDSA — runs beside the main thread.
 */

export interface CsrCheckJob {
  id: number;
  der: Uint8Array;
}

export type CsrCheckResult =
  | { id: number; ok: true; subjectPublicKeyInfo: Uint8Array; point: Uint8Array }
  | { id: number; ok: false; code: string; message: string; details: Record<string, unknown> };

async function checkBatch(batch: CsrCheckJob[]): Promise<CsrCheckResult[]> {
  const results: CsrCheckResult[] = [];
  for (const job of batch) {
    try {
      const csr = await checkCsrHere(Buffer.from(job.der.buffer, job.der.byteOffset, job.der.byteLength), true);
      results.push({ id: job.id, ok: true, subjectPublicKeyInfo: csr.subjectPublicKeyInfo, point: csr.point });
    } catch (error) {
      const e = error instanceof RegistoError ? error : new RegistoError('CSR_MALFORMED', (error as Error).message);
      results.push({ id: job.id, ok: false, code: e.code, message: e.message, details: e.details });
    }
  }
  return results;
}

// The emitter drops a listener's promise: the answer is posted when the batch is done, and a
// failure to post still surfaces as the worker's error.
parentPort?.on('message', (batch: CsrCheckJob[]) => {
  void checkBatch(batch).then((results) => parentPort!.postMessage(results));
});

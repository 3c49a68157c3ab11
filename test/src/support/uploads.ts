import { type DemoPacket, submitPacket } from '@registo/cli';

/**
 * What a registration client does with a 503 (or no answer): wait, then upload the same packet
 * again. Every answer is pushed to `statuses`; resolves with the first that is neither.
 */
export async function uploadUntilAnswered(url: string, p: DemoPacket, statuses: number[], retryMs = 300): Promise<number> {
  for (;;) {
    const r = await submitPacket(url, p.regId, p.body).catch(() => ({ httpStatus: 0 }));
    statuses.push(r.httpStatus);
    if (r.httpStatus !== 503 && r.httpStatus !== 0) return r.httpStatus;
    await new Promise((res) => setTimeout(res, retryMs));
  }
}

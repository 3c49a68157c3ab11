import { fetchPlatform } from '@registo/base';

/** A registration client's side of the intake API: upload packets, then follow them to an outcome. */

export interface SubmitResult {
  regId: string;
  httpStatus: number;
  /** The problem code when refused. */
  code: string | null;
  submittedAt: number;
}

export type Outcome = 'APPROVED' | 'IN_ADJUDICATION' | 'REJECTED' | 'PENDING';

export async function submitPacket(url: string, regId: string, body: string): Promise<SubmitResult> {
  const submittedAt = Date.now();
  const res = await fetchPlatform(`${url}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body });
  const answer = (await res.json().catch(() => ({}))) as { code?: string };
  return { regId, httpStatus: res.status, code: res.ok ? null : (answer.code ?? `HTTP_${res.status}`), submittedAt };
}

/** Runs `work` over `items` with at most `concurrency` at a time, in order of start. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i]!, i);
    }),
  );
  return out;
}

export async function packetStatus(url: string, token: string, regId: string): Promise<{ status: string; uin: string | null; timeline: Array<{ type: string; at: string }> }> {
  const res = await fetchPlatform(`${url}/v1/packets/${regId}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET /v1/packets/${regId}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { status: string; uin: string | null; timeline: Array<{ type: string; at: string }> };
}

const outcomeOf = (status: string): Outcome =>
  status === 'APPROVED' ? 'APPROVED' : status === 'IN_ADJUDICATION' ? 'IN_ADJUDICATION' : status === 'REJECTED' ? 'REJECTED' : 'PENDING';

/**
 * Polls the status of every packet until each reaches an outcome (approved, waiting for an
 * officer, rejected) or the time is up; reports progress as outcomes arrive.
 */
export async function waitForOutcomes(
  url: string,
  token: string,
  regIds: readonly string[],
  options: { timeoutMs: number; concurrency?: number; onSettled?: (n: number) => void },
): Promise<Map<string, { outcome: Outcome; uin: string | null; settledAt: string | null }>> {
  const results = new Map<string, { outcome: Outcome; uin: string | null; settledAt: string | null }>();
  let pending = [...regIds];
  const deadline = Date.now() + options.timeoutMs;
  while (pending.length > 0 && Date.now() < deadline) {
    const answers = await pool(pending, options.concurrency ?? 16, async (regId) => ({ regId, s: await packetStatus(url, token, regId) }));
    const still: string[] = [];
    for (const { regId, s } of answers) {
      const outcome = outcomeOf(s.status);
      if (outcome === 'PENDING') still.push(regId);
      else results.set(regId, { outcome, uin: s.uin, settledAt: s.timeline.at(-1)?.at ?? null });
    }
    options.onSettled?.(pending.length - still.length);
    pending = still;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 250));
  }
  for (const regId of pending) results.set(regId, { outcome: 'PENDING', uin: null, settledAt: null });
  return results;
}

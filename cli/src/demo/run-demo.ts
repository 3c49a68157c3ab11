import { fetchPlatform } from '@registo/base';
import { type IntakeKey, importIntakePublicJwk, issueDeviceCertificate } from '@registo/packets';
import { loadPlatformKeys } from '@registo/config';
import { createPopulation } from '@registo/simulators';
import { type DemoMix, type DemoPacket, DemoPacketFactory, type Expected } from './packets.js';
import { type Outcome, pool, submitPacket, waitForOutcomes } from './client.js';
import { type Difference, type Verdict, demoVerdict, differences } from './verdict.js';
import { refusalHints } from './refusal-hints.js';

export interface DemoOptions {
  url: string;
  token: string;
  keysFile: string;
  enrollments: number;
  mix: DemoMix;
  concurrency: number;
  seed: number;
  firstPerson: number;
  /** The first foreigner, when it is not `firstPerson` (a run resumed where the last one stopped). */
  firstForeigner?: number;
  timeoutMs: number;
  /** Each packet as generated, before upload (what it holds, what should become of it). */
  onGenerated?: (packet: DemoPacket) => void;
  onSubmitted?: (n: number) => void;
  /** Once every packet is uploaded: the first citizen and foreigner not used (saved before the wait, which may fail). */
  onUploaded?: (nextPeople: { citizen: number; foreigner: number }) => Promise<void>;
  onSettled?: (n: number) => void;
}

export interface DemoSummary {
  enrollments: number;
  submitted: { accepted: number; refused: number; refusedCodes: Record<string, number> };
  outcomes: Record<Outcome, number>;
  expected: Record<Expected, number>;
  /** Packets whose outcome is not the one the generator expected (those still pending are counted in `outcomes.PENDING`). */
  surprises: Difference[];
  seconds: { submit: number; total: number };
  perSecond: number;
  /** The first citizen and foreigner of the population this run did not use: where the next run starts. */
  nextPeople: { citizen: number; foreigner: number };
  /** The exit code `registo demo` ends with, and why. */
  verdict: Verdict;
  /** What the refusals at upload usually mean and what to check (empty when none was refused). */
  hints: string[];
}

/**
 * The key packets are encrypted to: what the platform publishes at GET /v1/intake/key (in
 * qualified mode its private half is in the token, and the key file's intake key is not the
 * platform's); the key file's own intake key only for a platform that publishes none.
 */
export async function intakeKeyOf(url: string, fallback: Pick<IntakeKey, 'publicKey' | 'kid'>): Promise<Pick<IntakeKey, 'publicKey' | 'kid'>> {
  const response = await fetchPlatform(new URL('/v1/intake/key', url));
  if (response.status === 404) return fallback;
  if (!response.ok) throw new Error(`GET ${url}/v1/intake/key answered ${response.status}`);
  return importIntakePublicJwk((await response.json()) as never);
}

/** Generates, uploads and follows `enrollments` packets; compares what happened with what should have. */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const keys = await loadPlatformKeys(o.keysFile);
  const device = await issueDeviceCertificate(keys.registrationCa, {
    deviceId: 'demo-client-01',
    centreId: '10031',
    // Certified before the captures it signs (they are dated minutes before now).
    notBefore: new Date(Date.now() - 86_400_000),
  });
  const intake = await intakeKeyOf(o.url, keys.intakeKey);
  const factory = new DemoPacketFactory({ population: createPopulation(), device, intake, mix: o.mix, seed: o.seed, firstPerson: o.firstPerson, ...(o.firstForeigner !== undefined && { firstForeigner: o.firstForeigner }) });
  const packets: DemoPacket[] = [];
  for (let i = 0; i < o.enrollments; i++) {
    const packet = await factory.packet(i);
    o.onGenerated?.(packet);
    packets.push(packet);
  }
  const started = performance.now();
  let submittedCount = 0;
  const submitted = await pool(packets, o.concurrency, async (p) => {
    const r = await submitPacket(o.url, p.regId, p.body);
    o.onSubmitted?.(++submittedCount);
    return r;
  });
  const submitSeconds = (performance.now() - started) / 1000;
  await o.onUploaded?.(factory.next());
  const accepted = submitted.filter((s) => s.httpStatus === 202).map((s) => s.regId);
  const refusedCodes: Record<string, number> = {};
  for (const s of submitted) if (s.code) refusedCodes[s.code] = (refusedCodes[s.code] ?? 0) + 1;
  const outcomes = await waitForOutcomes(o.url, o.token, accepted, { timeoutMs: o.timeoutMs, ...(o.onSettled && { onSettled: o.onSettled }) });
  const total = (performance.now() - started) / 1000;
  const count: Record<Outcome, number> = { APPROVED: 0, IN_ADJUDICATION: 0, REJECTED: 0, PENDING: 0 };
  for (const r of outcomes.values()) count[r.outcome]++;
  const expected: Record<Expected, number> = { APPROVED: 0, IN_ADJUDICATION: 0, REFUSED: 0 };
  for (const p of packets) expected[p.expected]++;
  const surprises = differences(packets, (i) => (submitted[i]!.httpStatus === 202 ? outcomes.get(packets[i]!.regId)!.outcome : 'REFUSED'));
  return {
    enrollments: o.enrollments,
    submitted: { accepted: accepted.length, refused: submitted.length - accepted.length, refusedCodes },
    outcomes: count,
    expected,
    surprises,
    seconds: { submit: submitSeconds, total },
    perSecond: (count.APPROVED + count.IN_ADJUDICATION + count.REJECTED) / total,
    nextPeople: factory.next(),
    verdict: demoVerdict({ enrollments: o.enrollments, surprises, outcomes: count }),
    hints: refusalHints(refusedCodes, o.keysFile),
  };
}

import type { Outcome } from './client.js';
import type { DemoKind, Expected } from './packets.js';

/** What became of one packet: its outcome, or refused at upload. */
export type Got = Outcome | 'REFUSED';

/** A packet that ended otherwise than the generator expected (never one still pending). */
export interface Difference {
  regId: string;
  kind: DemoKind;
  expected: Expected;
  got: Exclude<Got, 'PENDING'>;
}

interface Compared {
  index: number;
  regId: string;
  kind: DemoKind;
  expected: Expected;
  duplicateOf: number | null;
}

/**
 * The packets whose outcome is not the expected one. A packet still pending is not a difference
 * (the run says how many were left). People enrolled more than once are judged as a group:
 * exactly one packet approved (whichever the platform saw first) and the others with an
 * officer; with none approved, the first packet of the person is the one that should have been.
 * Each difference names the expectation it was held to, so it never reads "expected X, got X".
 */
export function differences(packets: readonly Compared[], got: (index: number) => Got): Difference[] {
  const found = new Map<number, Difference>();
  const note = (i: number, expected: Expected): void => {
    const g = got(i);
    if (g !== 'PENDING' && g !== expected) found.set(i, { regId: packets[i]!.regId, kind: packets[i]!.kind, expected, got: g });
  };
  const groups = new Map<number, number[]>();
  for (const p of packets) if (p.duplicateOf !== null) groups.set(p.duplicateOf, [...(groups.get(p.duplicateOf) ?? [p.duplicateOf]), p.index]);
  const grouped = new Set([...groups.values()].flat());
  for (const members of groups.values()) {
    const pending = members.some((i) => got(i) === 'PENDING');
    // The one that should be approved: the first that was, else (all settled) the person's first packet.
    const approved = members.find((i) => got(i) === 'APPROVED') ?? (pending ? undefined : members[0]);
    for (const i of members) note(i, i === approved ? 'APPROVED' : 'IN_ADJUDICATION');
  }
  for (const p of packets) if (!grouped.has(p.index)) note(p.index, p.expected);
  return packets.flatMap((p) => found.get(p.index) ?? []);
}

/**
 * `registo demo`'s exit codes (shown in `demo --help`, docs/identity-lifecycle.md). When several
 * apply, the first in this order wins: refused, then unexpected outcomes, then still pending.
 */
export const DEMO_EXIT = {
  /** Every packet ended as the generator expected. */
  asExpected: 0,
  /** Some packets were processed to another outcome than expected. */
  unexpected: 1,
  /** The demo could not run: bad usage, the platform not reachable, keys unreadable, nobody left to enrol. */
  couldNotRun: 2,
  /** The platform refused uploads the generator expected it to take (an untrusted device, the wrong intake key, ...). */
  refused: 3,
  /** Some packets had no outcome yet when `--wait` ran out (and every settled one was as expected). */
  stillPending: 4,
} as const;

export interface Verdict {
  exitCode: (typeof DEMO_EXIT)[keyof typeof DEMO_EXIT];
  /** One line for the report. */
  says: string;
}

export function demoVerdict(s: { enrollments: number; surprises: readonly Difference[]; outcomes: Record<Outcome, number> }): Verdict {
  const refused = s.surprises.filter((d) => d.got === 'REFUSED').length;
  const other = s.surprises.length - refused;
  const pending = s.outcomes.PENDING;
  if (refused > 0) return { exitCode: DEMO_EXIT.refused, says: `${refused} of ${s.enrollments} packet(s) refused at upload that should have been taken` };
  if (other > 0) return { exitCode: DEMO_EXIT.unexpected, says: `${other} of ${s.enrollments} packet(s) ended otherwise than expected` };
  if (pending > 0) return { exitCode: DEMO_EXIT.stillPending, says: `${pending} of ${s.enrollments} packet(s) still pending when the wait ran out (pass a longer --wait)` };
  return { exitCode: DEMO_EXIT.asExpected, says: 'every packet ended as the generator expected' };
}

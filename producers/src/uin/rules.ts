import { verhoeffValid } from './verhoeff.js';

/** The UIN policy (DESIGN §9, as MOSIP's UIN filters apply it). */
export interface UinPolicy {
  length: 10 | 12;
  /** A digit may not reappear within this many positions (2: no "11", no "121"). */
  repeatingLimit: number;
  /** Ascending or descending runs of this many digits are refused ("123", "987"). */
  sequenceLimit: number;
  /** Blocks of this many digits may not occur twice ("4545"). */
  repeatingBlockLimit: number;
  /** Numbers (or prefixes) reserved or offensive, refused outright. */
  restricted: readonly string[];
}

export const DEFAULT_UIN_POLICY: UinPolicy = {
  length: 10,
  repeatingLimit: 2,
  sequenceLimit: 3,
  repeatingBlockLimit: 2,
  restricted: [],
};

export type UinRule =
  | 'LENGTH'
  | 'CHECK_DIGIT'
  | 'LEADING_DIGIT'
  | 'REPEATING_DIGIT'
  | 'SEQUENCE'
  | 'REPEATING_BLOCK'
  | 'FIRST_EQUALS_LAST'
  | 'FIRST_EQUALS_REVERSED_LAST'
  | 'RESTRICTED';

function hasRepeat(uin: string, limit: number): boolean {
  for (let i = 0; i < uin.length; i++) for (let j = i + 1; j <= i + limit && j < uin.length; j++) if (uin[i] === uin[j]) return true;
  return false;
}

function hasSequence(uin: string, limit: number): boolean {
  for (let i = 0; i + limit <= uin.length; i++) {
    let up = true;
    let down = true;
    for (let k = 1; k < limit; k++) {
      const step = uin.charCodeAt(i + k) - uin.charCodeAt(i + k - 1);
      up &&= step === 1;
      down &&= step === -1;
    }
    if (up || down) return true;
  }
  return false;
}

function hasRepeatedBlock(uin: string, size: number): boolean {
  for (let i = 0; i + 2 * size <= uin.length; i++) if (uin.indexOf(uin.slice(i, i + size), i + size) !== -1) return true;
  return false;
}

/** Every rule the number breaks (empty: a valid UIN). */
export function uinViolations(uin: string, policy: UinPolicy = DEFAULT_UIN_POLICY): UinRule[] {
  const out: UinRule[] = [];
  if (!/^\d+$/.test(uin) || uin.length !== policy.length) return ['LENGTH'];
  if (!verhoeffValid(uin)) out.push('CHECK_DIGIT');
  if (uin[0] === '0' || uin[0] === '1') out.push('LEADING_DIGIT');
  if (hasRepeat(uin, policy.repeatingLimit)) out.push('REPEATING_DIGIT');
  if (hasSequence(uin, policy.sequenceLimit)) out.push('SEQUENCE');
  if (hasRepeatedBlock(uin, policy.repeatingBlockLimit)) out.push('REPEATING_BLOCK');
  const first = uin.slice(0, 5);
  const last = uin.slice(-5);
  if (first === last) out.push('FIRST_EQUALS_LAST');
  if (first === [...last].reverse().join('')) out.push('FIRST_EQUALS_REVERSED_LAST');
  if (policy.restricted.some((r) => uin.includes(r))) out.push('RESTRICTED');
  return out;
}

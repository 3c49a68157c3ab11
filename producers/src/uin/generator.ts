import { createHmac, randomInt } from 'node:crypto';
import type { MacKeyLike } from '@registo/crypto';
import { RegistoError } from '@registo/schemas';
import { DEFAULT_UIN_POLICY, type UinPolicy, uinViolations } from './rules.js';
import { verhoeffDigit } from './verhoeff.js';

/** A source of random digits: crypto by default, seeded in tests. */
export type DigitSource = (minInclusive: number, maxExclusive: number) => number;

const cryptoDigits: DigitSource = (min, max) => randomInt(min, max);

/**
 * A digit source determined by a secret key and a seed (e.g. the registration id): HMAC-SHA256
 * in counter mode, with rejection sampling so every value is equally likely. The same
 * enrollment always walks the same sequence of candidate UINs, so a retried allocation
 * finds the identity it created before instead of creating a second one; without the key
 * the sequence cannot be predicted.
 */
export function keyedDigitSource(key: Buffer, seed: string): DigitSource {
  let counter = 0;
  let pool: Buffer = Buffer.alloc(0);
  const nextByte = (): number => {
    if (pool.length === 0) pool = createHmac('sha256', key).update(`${seed}\u0000${counter++}`).digest();
    const b = pool[0]!;
    pool = pool.subarray(1);
    return b;
  };
  return (min, max) => {
    const span = max - min;
    const limit = 256 - (256 % span);
    for (;;) {
      const b = nextByte();
      if (b < limit) return min + (b % span);
    }
  };
}

/**
 * `keyedDigitSource` under a key that may live in a PKCS#11 token (qualified mode), where it
 * cannot be used for every byte drawn: the token computes one HMAC of the seed, and that
 * per-enrollment key drives the same counter-mode source in this process. Still deterministic
 * per seed and unpredictable without the token's key; a key given as bytes keeps the direct
 * derivation (development key file), so existing sequences do not change.
 */
export async function keyedDigitSourceWith(key: MacKeyLike, seed: string): Promise<DigitSource> {
  if (Buffer.isBuffer(key)) return keyedDigitSource(key, seed);
  return keyedDigitSource(await key.mac(Buffer.from(`registo-uin-seed\u0000${seed}`, 'utf8')), seed);
}

/**
 * Draws candidates until one passes every rule. Digits are drawn so that the repeating-digit
 * and sequence rules mostly hold by construction, which keeps the number of rejected draws
 * small; the full rule set is still checked on the result.
 */
export function generateUin(policy: UinPolicy = DEFAULT_UIN_POLICY, draw: DigitSource = cryptoDigits, maxAttempts = 10_000): string {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    let body = String(draw(2, 10));
    while (body.length < policy.length - 1) {
      const d = String(draw(0, 10));
      if (body.slice(-policy.repeatingLimit).includes(d)) continue;
      body += d;
    }
    const uin = body + String(verhoeffDigit(body));
    if (uinViolations(uin, policy).length === 0) return uin;
  }
  throw new RegistoError('COMMAND_REJECTED', `no UIN satisfying the policy after ${maxAttempts} draws`, { reason: 'UIN_POLICY_UNSATISFIABLE' });
}

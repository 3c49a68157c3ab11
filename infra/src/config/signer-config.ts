import { resolve } from 'node:path';
import { z } from 'zod';
import { RegistoError } from '@registo/schemas';
import type { SignerMode } from '../hsm/signer.js';

/**
 * The trust-services signer's part of the environment (DESIGN §5):
 *
 * - `REGISTO_SIGNER_MODE` — `qualified` (keys only in the PKCS#11 token, no software fallback) or
 *   `non_qualified` (software keys, labelled as such; the default);
 * - `REGISTO_PKCS11_MODULE` — path of the PKCS#11 library, e.g. `/usr/lib/softhsm/libsofthsm2.so`;
 * - `REGISTO_PKCS11_TOKEN` — the token's label (tokens are found by label, not slot);
 * - `REGISTO_PKCS11_PIN` — the user PIN;
 * - `SOFTHSM2_CONF` — for SoftHSM2, the configuration naming the token directory.
 *
 * In `qualified` mode the module, token and PIN are required.
 */
const SignerConfigSchema = z.object({
  REGISTO_SIGNER_MODE: z.enum(['qualified', 'non_qualified']).default('non_qualified'),
  REGISTO_PKCS11_MODULE: z.string().min(1).optional(),
  REGISTO_PKCS11_TOKEN: z.string().min(1).max(32, 'a PKCS#11 token label has at most 32 characters').optional(),
  REGISTO_PKCS11_PIN: z.string().min(4, 'a PKCS#11 PIN has at least 4 characters').optional(),
  SOFTHSM2_CONF: z.string().min(1).optional(),
});

export interface Pkcs11Settings {
  module: string;
  tokenLabel: string;
  userPin: string;
  /** Environment the module needs when it is loaded (SOFTHSM2_CONF). */
  env: { SOFTHSM2_CONF?: string };
}

export interface SignerConfig {
  mode: SignerMode;
  /** Set in qualified mode; in non_qualified mode only when all three PKCS#11 variables are. */
  pkcs11: Pkcs11Settings | null;
}

export function loadSignerConfig(env: NodeJS.ProcessEnv = process.env): SignerConfig {
  const parsed = SignerConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new RegistoError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  const c = parsed.data;
  const required = { REGISTO_PKCS11_MODULE: c.REGISTO_PKCS11_MODULE, REGISTO_PKCS11_TOKEN: c.REGISTO_PKCS11_TOKEN, REGISTO_PKCS11_PIN: c.REGISTO_PKCS11_PIN };
  const missing = Object.entries(required).filter(([, v]) => v === undefined).map(([k]) => k);
  if (c.REGISTO_SIGNER_MODE === 'qualified' && missing.length > 0) {
    const problems = missing.map((k) => `${k}: required when REGISTO_SIGNER_MODE=qualified (keys only in the PKCS#11 token, no software fallback)`);
    throw new RegistoError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  const pkcs11 =
    missing.length === 0
      ? {
          module: c.REGISTO_PKCS11_MODULE!,
          tokenLabel: c.REGISTO_PKCS11_TOKEN!,
          userPin: c.REGISTO_PKCS11_PIN!,
          env: c.SOFTHSM2_CONF ? { SOFTHSM2_CONF: resolve(c.SOFTHSM2_CONF) } : {},
        }
      : null;
  return { mode: c.REGISTO_SIGNER_MODE, pkcs11 };
}

/** The signer configuration for printing: the PIN masked. */
export function describeSignerConfig(config: SignerConfig): Record<string, unknown> {
  return {
    mode: config.mode,
    pkcs11: config.pkcs11 ? { module: config.pkcs11.module, tokenLabel: config.pkcs11.tokenLabel, userPin: '***', ...config.pkcs11.env } : null,
  };
}

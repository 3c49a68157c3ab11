import { resolve } from 'node:path';
import type { SignerMode } from './signer.js';
import { invalidConfiguration, readVariables } from '@registo/base';

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
const SIGNER_VARIABLES = ['REGISTO_SIGNER_MODE', 'REGISTO_PKCS11_MODULE', 'REGISTO_PKCS11_TOKEN', 'REGISTO_PKCS11_PIN', 'SOFTHSM2_CONF'] as const;

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
  const c = readVariables(SIGNER_VARIABLES, env);
  const required = { REGISTO_PKCS11_MODULE: c.REGISTO_PKCS11_MODULE, REGISTO_PKCS11_TOKEN: c.REGISTO_PKCS11_TOKEN, REGISTO_PKCS11_PIN: c.REGISTO_PKCS11_PIN };
  const missing = Object.entries(required).filter(([, v]) => v === undefined).map(([k]) => k);
  if (c.REGISTO_SIGNER_MODE === 'qualified' && missing.length > 0) {
    const problems = missing.map((k) => `${k}: required when REGISTO_SIGNER_MODE=qualified (keys only in the PKCS#11 token, no software fallback)`);
    throw invalidConfiguration(problems);
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

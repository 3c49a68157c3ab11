import { RegistoError } from '@registo/schemas';
import { readVariables } from '@registo/base';

/** Settings of the status services (environment). */
export interface StatusServicesConfig {
  /** `REGISTO_CRL_INTERVAL_S`: seconds between scheduled CRLs (and new delta bases). Default 3600. */
  crlIntervalSeconds: number;
  /** `REGISTO_OCSP_VALIDITY_S`: nextUpdate − thisUpdate of OCSP answers. Default 600. */
  ocspValiditySeconds: number;
  /** `REGISTO_OCSP_MAX_AGE_S`: longest reuse of a signed answer (and HTTP max-age). Default 60. */
  ocspMaxAgeSeconds: number;
}

const STATUS_VARIABLES = ['REGISTO_CRL_INTERVAL_S', 'REGISTO_OCSP_VALIDITY_S', 'REGISTO_OCSP_MAX_AGE_S'] as const;

export function loadStatusServicesConfig(env: NodeJS.ProcessEnv = process.env): StatusServicesConfig {
  const c = readVariables(STATUS_VARIABLES, env);
  if (c.REGISTO_OCSP_MAX_AGE_S > c.REGISTO_OCSP_VALIDITY_S) {
    throw new RegistoError('CONFIG_INVALID', 'REGISTO_OCSP_MAX_AGE_S must not exceed REGISTO_OCSP_VALIDITY_S (an answer would be reused after its nextUpdate)');
  }
  return { crlIntervalSeconds: c.REGISTO_CRL_INTERVAL_S, ocspValiditySeconds: c.REGISTO_OCSP_VALIDITY_S, ocspMaxAgeSeconds: c.REGISTO_OCSP_MAX_AGE_S };
}

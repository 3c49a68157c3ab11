import { readVariables } from '../config/variables.js';
import { RegistoError } from '@registo/schemas';
import type { SqlDriver } from '../event-store/sql-driver.js';
import type { Logger } from '../telemetry/logger.js';
import { type CrlNumberStore, SqlCrlNumberStore } from './crl-numbers.js';
import { CrlPublisher } from './crl.js';
import { OcspResponder } from './ocsp.js';
import type { CertificateStatusSource } from './ports.js';
import type { TrustKeys } from './trust-keys.js';

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

export interface StatusServices {
  ocsp: OcspResponder;
  crl: CrlPublisher;
  /** Tell both at once that a status changed (they also poll the source's revision). */
  notify(): Promise<void>;
  close(): void;
}

export interface StartStatusServicesOptions {
  trust: TrustKeys;
  status: CertificateStatusSource;
  /** Where CRL numbers are kept (table `trust_crl_numbers`); or give `numbers` directly. */
  db?: SqlDriver;
  numbers?: CrlNumberStore;
  publicUrl: string;
  config?: Partial<StatusServicesConfig>;
  logger?: Logger;
}

/** The OCSP responder (identity and root CA) and the CRL publisher, for `registerTrustStatusRoutes`. */
export async function startStatusServices(o: StartStatusServicesOptions): Promise<StatusServices> {
  const config = { ...loadStatusServicesConfig({}), ...o.config };
  const numbers = o.numbers ?? (o.db ? await SqlCrlNumberStore.open(o.db) : undefined);
  if (!numbers) throw new RegistoError('CONFIG_INVALID', 'startStatusServices needs db (a SqlDriver) or numbers');
  const ocsp = await OcspResponder.create({
    trust: o.trust,
    status: o.status,
    validitySeconds: config.ocspValiditySeconds,
    maxAgeSeconds: config.ocspMaxAgeSeconds,
    ...(o.logger && { logger: o.logger }),
  });
  let crl: CrlPublisher;
  try {
    crl = await CrlPublisher.start({ trust: o.trust, status: o.status, numbers, publicUrl: o.publicUrl, intervalSeconds: config.crlIntervalSeconds, ...(o.logger && { logger: o.logger }) });
  } catch (error) {
    ocsp.close();
    throw error;
  }
  return {
    ocsp,
    crl,
    notify: async () => {
      await Promise.all([ocsp.notify(), crl.notify()]);
    },
    close: () => {
      ocsp.close();
      crl.close();
    },
  };
}

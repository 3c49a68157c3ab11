import { type StatusServicesConfig, loadStatusServicesConfig } from './status-services-config.js';
import { RegistoError } from '@registo/schemas';
import type { SqlDriver } from '@registo/event-store';
import type { Logger } from '@registo/base';
import { type CrlNumberStore, SqlCrlNumberStore } from './crl-numbers.js';
import { CrlPublisher } from './crl.js';
import { OcspResponder } from './ocsp.js';
import type { CertificateStatusSource } from './ports.js';
import type { TrustKeys } from './trust-keys.js';

export { type StatusServicesConfig, loadStatusServicesConfig } from './status-services-config.js';

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

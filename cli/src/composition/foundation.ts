import type { Logger } from '@registo/base';
import { SqlEventStore, openEventStore, openSqlDriver, type EventStore } from '@registo/event-store';
import { SubjectSealer } from '@registo/crypto';
import { Pkcs11KeyWrapper } from '@registo/hsm';
import { openTrustKeys, type TrustKeys } from '@registo/trust';
import { loadPlatformKeys, loadQualifiedIntakeTrust, type RegistoConfig } from '@registo/config';
import type { PlatformKeyring, SqlSide } from './context.js';
import type { DisposalStack } from './disposal-stack.js';
import { KEK_LABEL, openIdentityMacKeys, openKeyWrapper } from './identity-keys.js';

export interface Foundation {
  eventStore: EventStore;
  sql: SqlSide | null;
  keys: PlatformKeyring;
  trust: TrustKeys;
}

/** The event store; released last. */
async function openStore(config: RegistoConfig, stack: DisposalStack): Promise<{ eventStore: EventStore; driver: SqlSide['driver'] | null }> {
  if (config.eventStore.kind === 'eventstoredb') {
    const eventStore = stack.use('event store', await openEventStore(config.eventStore), (s) => s.close());
    return { eventStore, driver: null };
  }
  const driver = await openSqlDriver(config.eventStore);
  const eventStore = stack.use('event store', await SqlEventStore.open(driver).catch(async (e: unknown) => {
    await driver.close();
    throw e;
  }), (s) => s.close());
  return { eventStore, driver };
}

/**
 * The store, then the keys: the key file (or, qualified with the registration CAs given by
 * certificate, only those certificates — docs/trust-services.md), the KEK, which must open the
 * stored data keys, the CA hierarchy every trust service signs with, then the identity keys
 * (after the hierarchy, so that a token without a ceremony is reported by its first missing piece).
 */
export async function openFoundation(config: RegistoConfig, logger: Logger, stack: DisposalStack): Promise<Foundation> {
  const { eventStore, driver } = await openStore(config, stack);
  const file = config.signer.mode === 'qualified' && config.registrationCaCertificates ? await loadQualifiedIntakeTrust(config.registrationCaCertificates) : await loadPlatformKeys(config.keysFile);
  const software = file.label === 'qualified' ? null : file;
  const trustedCaPems = file.label === 'qualified' ? file.trustedCaPems : [file.registrationCa.certificatePem];
  const keyWrapper = await openKeyWrapper(config, software?.keyWrapper ?? null);
  if (keyWrapper instanceof Pkcs11KeyWrapper) stack.defer('key-encryption key', () => keyWrapper.close());
  if (keyWrapper.kind === 'software') logger.warn({ file: software?.file, created: software?.created, label: file.label }, 'identity keys are software keys (non-qualified)');
  else if (software) logger.warn({ file: software.file }, 'qualified: the development key file still supplies the registration-client CA (with its private key); set REGISTO_REGISTRATION_CA_CERTS to trust registration CAs by certificate only');
  else logger.info({ kek: keyWrapper.kekId }, 'personal data keys are wrapped inside the PKCS#11 token (qualified)');
  const sealer = driver ? await SubjectSealer.open(driver, keyWrapper) : null;
  await sealer?.assertKekOpensStoredKeys(software && keyWrapper.kind === 'software' ? `the key file ${software.file}` : `the PKCS#11 token's ${KEK_LABEL}`);
  // A bare machine gets labelled software keys; a qualified platform needs `registo keys init` run on its token.
  const trust = stack.use('trust keys', await openTrustKeys({ signer: config.signer, dataDir: config.dataDir, publicUrl: config.publicUrl, ensureSoftwareHierarchy: true }), (t) => t.close());
  const identity = stack.use('identity keys', await openIdentityMacKeys(config, software), (k) => k.close());
  logger.info({ mode: trust.mode, policyOid: trust.policyOid, trustDir: trust.trustDir }, `trust services sign ${trust.mode === 'qualified' ? 'inside the PKCS#11 token (qualified)' : 'with software keys (non-qualified)'}`);
  return { eventStore, sql: driver && sealer ? { driver, sealer } : null, keys: { keyWrapper, identity, trustedCaPems, softwareFile: software?.file ?? null }, trust };
}

import { ResilientSyncPort, SyncHttpConnector, type ExternalSyncPort, type SyncSystem } from '@registo/external';
import type { RegistoConfig, SyncConfig } from '@registo/config';

/**
 * SIGA's and Immigration's sync ports: each its own service account (REGISTO_SIGA_SYNC_TOKEN,
 * REGISTO_IMMIGRATION_SYNC_TOKEN, else the external token), timeout, rate limit and breaker.
 */
export function syncPorts(external: NonNullable<RegistoConfig['external']>, sync: SyncConfig): Record<SyncSystem, ExternalSyncPort> {
  const resilience = { ratePerSecond: sync.ratePerSecond, breakerThreshold: sync.breakerThreshold, halfOpenAfterMs: sync.breakerOpenMs };
  const port = (system: SyncSystem, baseUrl: string, token: string | null): ExternalSyncPort =>
    new ResilientSyncPort(new SyncHttpConnector(system, { baseUrl, token: token ?? external.token, timeoutMs: sync.timeoutMs }), resilience);
  return { SIGA: port('SIGA', external.sigaUrl, sync.sigaToken), IMMIGRATION: port('IMMIGRATION', external.immigrationUrl, sync.immigrationToken) };
}

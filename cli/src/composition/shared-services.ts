import type { Logger } from '@registo/base';
import type { EventStore } from '@registo/event-store';
import { createHolderCertificateIssuer, type TrustKeys } from '@registo/trust';
import { pinLogOrigin } from '@registo/audit';
import type { RegistoConfig } from '@registo/config';
import { StatusListAllocator, credentialIssuerContext } from '@registo/producers';
import { SqlHolderKeyRegister } from '@registo/projections';
import { syncPorts } from '../sync-wiring.js';
import type { SharedServices, SqlSide } from './context.js';
import type { Workers } from './workers.js';

interface SharedDeps {
  config: RegistoConfig;
  logger: Logger;
  eventStore: EventStore;
  sql: SqlSide | null;
  trust: TrustKeys;
  external: RegistoConfig['external'];
  workers: Workers;
}

/**
 * What more than one role uses. Credentials: VCs and holder certificates signed by the identity
 * CA (the credentials role issues, the api serves). The log's origin is pinned once (docs/audit.md):
 * a restart under another public URL keeps it, so the checkpointer, the published key name, the
 * export and the health view agree.
 */
export async function startSharedServices(d: SharedDeps): Promise<SharedServices> {
  const { config, trust, sql } = d;
  let credentials: SharedServices['credentials'] = null;
  if (sql) {
    const holderIssuer = await createHolderCertificateIssuer(trust, { publicUrl: config.publicUrl });
    d.workers.add({ name: 'credentials:holder-issuer', stop: () => holderIssuer.close(), describe: () => ({ mode: holderIssuer.mode }) });
    // The credential read model says which UINs a holder key is already certified for.
    const issuer = credentialIssuerContext(trust, { store: d.eventStore, sealer: sql.sealer, allocator: new StatusListAllocator(sql.driver), publicUrl: config.publicUrl, holderIssuer, holderKeys: new SqlHolderKeyRegister(sql.driver) });
    credentials = { issuer, anchors: { identityCa: trust.certificates.identity_ca.x509, root: trust.certificates.root_ca.x509 } };
  }
  const pinsOrigin = sql && (config.roles.includes('checkpointer') || config.roles.includes('api'));
  const auditOrigin = pinsOrigin ? await pinLogOrigin(sql.driver, d.eventStore, { origin: config.audit.origin, explicit: config.audit.originExplicit }, d.logger) : config.audit.origin;
  return { credentials, auditOrigin, syncPorts: d.external ? syncPorts(d.external, config.sync) : null };
}

import type { Logger } from '@registo/base';
import type { EventStore } from '@registo/event-store';
import type { TrustKeys } from '@registo/trust';
import { maskSecrets, type RegistoConfig } from '@registo/config';
import { ApiTokens, type RegisteredRoute } from '@registo/gateways';
import type { PlatformContext } from './composition/context.js';
import { DisposalStack } from './composition/disposal-stack.js';
import { openFoundation } from './composition/foundation.js';
import { migratePlatform } from './composition/migrations.js';
import { checkRoles } from './composition/role.js';
import { startSharedServices } from './composition/shared-services.js';
import { startConfiguredSimulators } from './composition/simulators.js';
import { Workers } from './composition/workers.js';
import { ROLE_MODULES } from './roles/index.js';
import { startupSummary } from './startup-summary.js';

export interface RunningPlatform {
  /** Where the HTTP server listens (when the api role runs), e.g. http://127.0.0.1:8080 */
  url: string | null;
  /** Where SIGA, Immigration and the ABIS answer (the in-process simulators' addresses when they run). */
  external: RegistoConfig['external'];
  eventStore: EventStore;
  /** The CA hierarchy's signers and certificates (software keys in non_qualified mode, the token's in qualified). */
  trust: TrustKeys;
  /** Every HTTP route the api role registered (empty when it does not run). */
  routes: readonly RegisteredRoute[];
  close(): Promise<void>;
}

/**
 * The composition root: checks the configuration, opens the store and keys, starts the
 * simulators and each configured role (cli/src/roles). Everything is registered in one disposal
 * stack as it is acquired: a step that fails releases all before it, and `close()` releases it all.
 */
export async function startPlatform(config: RegistoConfig, logger: Logger): Promise<RunningPlatform> {
  logger.info({ config: maskSecrets(config) }, 'configuration');
  checkRoles(config, ROLE_MODULES);
  const tokens = ApiTokens.parse(config.apiTokens);
  const stack = new DisposalStack();
  try {
    const foundation = await openFoundation(config, logger, stack);
    const summary = startupSummary(config, foundation.keys.softwareFile);
    logger[summary.level](summary.fields, summary.message);
    const workers = new Workers();
    stack.defer('workers', () => workers.stopAll());
    const { simulators, external } = await startConfiguredSimulators(config, logger, workers);
    if (foundation.sql) await migratePlatform(foundation.sql.driver);
    const shared = await startSharedServices({ config, logger, eventStore: foundation.eventStore, sql: foundation.sql, trust: foundation.trust, external, workers });
    const ctx: PlatformContext = { config, logger, stack, workers, tokens, ...foundation, external, simulators, shared, http: null };
    for (const role of ROLE_MODULES) if (config.roles.includes(role.name)) await role.start(ctx);
    logger.info({ url: ctx.http?.url ?? null, roles: config.roles, eventStore: foundation.eventStore.info.adapter, headPosition: await foundation.eventStore.headPosition() }, 'registo ready');
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= stack.dispose().then((failures) => {
        // The first failure is the caller's to report (`registo start` exits 1); any others are logged here.
        for (const { name, error } of failures.slice(1)) logger.error({ err: error, resource: name }, 'error while releasing');
        if (failures[0]) throw failures[0].error;
        logger.info('registo stopped');
      }));
    return { url: ctx.http?.url ?? null, external, eventStore: foundation.eventStore, trust: foundation.trust, routes: ctx.http?.routes ?? [], close };
  } catch (e) {
    await stack.dispose();
    throw e;
  }
}

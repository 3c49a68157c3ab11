import type { Role } from '@registo/base';
import type { RegistoConfig } from '@registo/config';
import { RegistoError } from '@registo/schemas';
import type { PlatformContext } from './context.js';

/**
 * One role of `registo start --role`: what it needs from the configuration (checked before
 * anything is opened, so a refused configuration starts nothing) and how it starts. Whatever it
 * starts it registers in `ctx.workers` or `ctx.stack`, so a later failure stops it too.
 */
export interface RoleModule {
  name: Role;
  /** Why the role needs a SQL store (PostgreSQL or PGlite), when it does: the refusal's message. */
  needsSql?: string;
  /** Why the role needs SIGA, Immigration and the ABIS (or the simulators), when it does. */
  needsExternal?: string;
  start(ctx: PlatformContext): Promise<void>;
}

/** Refuses, before start-up opens anything, a configured role whose store or external systems are missing. */
export function checkRoles(config: RegistoConfig, modules: readonly RoleModule[]): void {
  for (const m of modules.filter((r) => config.roles.includes(r.name))) {
    if (m.needsSql && config.eventStore.kind === 'eventstoredb') throw new RegistoError('CONFIG_INVALID', m.needsSql, { problems: [`${m.name} needs a SQL store`] });
    if (m.needsExternal && !config.external && !config.simulators) throw new RegistoError('CONFIG_INVALID', m.needsExternal, { problems: ['external systems not configured'] });
  }
}

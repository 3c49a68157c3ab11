import { createTimestamper } from '@registo/trust';
import { createHttpApp, registerHealthRoutes, registerTsaRoutes, registeredRoutes } from '@registo/gateways';
import type { PlatformContext } from '../composition/context.js';
import type { RoleModule } from '../composition/role.js';
import { registerAuditorRoutes, registerExternalSyncRoutes, registerRecordRoutes, registerStatusRoutes } from './api-routes.js';

/** /healthz and /readyz: what runs, which keys sign, which workers are down, refusals since start. */
function registerReadiness(app: ReturnType<typeof createHttpApp>, ctx: PlatformContext): void {
  const { config, keys, trust, tokens, workers } = ctx;
  const startedAt = new Date().toISOString();
  const hmacKeys = [keys.identity.indexKey, keys.identity.uinKey].map((k) => (Buffer.isBuffer(k) ? 'software' : k.keyId));
  registerHealthRoutes(app, {
    eventStore: ctx.eventStore,
    describe: () => ({
      startedAt,
      roles: config.roles,
      eventStoreTarget: config.eventStore.kind,
      signer: { mode: config.signer.mode, kek: keys.keyWrapper.kekId, kekKind: keys.keyWrapper.kind, policyOid: trust.policyOid, hmacKeys, intakeKey: keys.identity.intake.decrypter.keyRef },
      workers: Object.fromEntries(workers.list().map((w) => [w.name, w.describe()])),
      // Refused authentications and authorizations since start (each is also logged as "request refused").
      refusals: tokens.refusals.snapshot(),
    }),
    workersDown: () => workers.down(),
  });
}

/** The in-process simulators push their changes to this platform's webhooks. */
function pointSimulatorsAt(url: string, ctx: PlatformContext): void {
  const { simulators: sims, external, config } = ctx;
  if (!sims || !external) return;
  sims.sigaLedger.webhook = { url: `${url}/v1/sync/webhooks/siga`, secret: config.sync.sigaToken ?? external.token, copies: 1, delayMs: 0 };
  sims.immigrationLedger.webhook = { url: `${url}/v1/sync/webhooks/immigration`, secret: config.sync.immigrationToken ?? external.token, copies: 1, delayMs: 0 };
}

/** The HTTP API; started after every other role, so that readiness lists their workers. */
export const apiRole: RoleModule = {
  name: 'api',
  async start(ctx) {
    const app = ctx.stack.use('http server', createHttpApp(ctx.logger), (a) => a.close());
    if (ctx.sql) {
      registerRecordRoutes(app, ctx, ctx.sql);
      await registerStatusRoutes(app, ctx, ctx.sql);
      registerAuditorRoutes(app, ctx, ctx.sql);
      registerExternalSyncRoutes(app, ctx, ctx.sql);
    }
    // RFC 3161 timestamps, signed by the hierarchy's TSA key (the token's in qualified mode).
    registerTsaRoutes(app, { tsa: createTimestamper(ctx.trust) });
    registerReadiness(app, ctx);
    const url = await app.listen({ port: ctx.config.http.port, host: ctx.config.http.host });
    pointSimulatorsAt(url, ctx);
    ctx.http = { url, routes: registeredRoutes(app) };
  },
};

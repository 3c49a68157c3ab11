import { createLogger } from '@registo/base';
import {
  InMemoryCertificateStatusSource,
  buildOcspRequest,
  InMemoryCrlNumberStore,
  openTrustKeys,
  startStatusServices,
} from '@registo/trust';
import { createHttpApp, registerTrustStatusRoutes } from '@registo/gateways';

/*
 * The server side of `registo bench ocsp`, in a process of its own so that the load generator does
 * not share its event loop: the status routes over an in-memory status source, and beside them a
 * route answering a fixed body (the HTTP stack's own limit, for the baseline).
 */

export interface OcspBenchServerSetup {
  dataDir: string;
  publicUrl: string;
  good: string[];
  revoked: string[];
}

process.once('message', (setup: OcspBenchServerSetup) => {
  void (async () => {
    const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir: setup.dataDir, publicUrl: setup.publicUrl });
    const status = new InMemoryCertificateStatusSource();
    for (const s of [...setup.good, ...setup.revoked]) status.issue(s);
    for (const s of setup.revoked) status.revoke(s, 'keyCompromise', new Date(Date.now() - 86_400_000));
    const services = await startStatusServices({ trust, status, numbers: new InMemoryCrlNumberStore(), publicUrl: setup.publicUrl });
    const app = createHttpApp(createLogger('warn', 'bench-ocsp'));
    await registerTrustStatusRoutes(app, { trust, status, crl: services.crl, ocsp: services.ocsp });
    // The fixed body is a real answer, made once: the baseline route sends the same bytes without any OCSP work.
    const fixed = (await services.ocsp.respond(buildOcspRequest({ issuerCertificateDer: trust.certificates.identity_ca.der, serialHexes: [setup.good[0]!] }))).der;
    app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      scope.post('/bench/fixed', async (_request, reply) => reply.type('application/ocsp-response').header('cache-control', 'no-cache').send(fixed));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
    process.on('message', (m: unknown) => {
      if (m === 'stats') process.send!({ stats: services.ocsp.stats, cache: services.ocsp.cacheSize });
      else if (typeof m === 'object' && m !== null && 'cpu' in m) {
        const used = process.cpuUsage();
        process.send!({ id: (m as { cpu: number }).cpu, cpu: used.user + used.system });
      }
    });
    process.once('disconnect', () => {
      void app.close().finally(() => {
        services.close();
        void trust.close().finally(() => process.exit(0));
      });
    });
  })().catch((error: unknown) => {
    process.send!({ error: (error as Error).stack ?? String(error) });
    process.exit(1);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import { openTrustKeys } from '@registo/trust';
import { signVcJwt, statusEntries, vcPayload } from '@registo/credentials';
import { type IdentityRecord, StatusListAllocator, credentialIssuerContext, identityStreamId, issueIdentityCredential, subjectIdFor } from '@registo/producers';
import { type EventOf, type IdentityEventData, expectEventOf } from '@registo/schemas';
import { type BenchReport, metric, progress } from './report.js';
import { withBenchDatabase } from './fixtures.js';

export interface CredentialsBenchOptions {
  adminUrl: string;
  identities: number;
  concurrency: number;
  /** Seconds of raw signing for the baseline. */
  signSeconds: number;
}

const record = (i: number): IdentityRecord => ({
  demographics: { givenNames: `Person ${i}`, surname: 'Bench', dateOfBirth: '1990-01-01', sex: i % 2 ? 'F' : 'M', nationality: 'STP', address: { district: 'Água Grande', locality: 'São Tomé' }, civilRegistryNumber: `CR-${i}` },
  biometrics: [{ modality: 'FACE', position: 'FRONT' }],
  documents: [],
});

/**
 * National-ID VCs issued per second from identity events on PostgreSQL (open the sealed record,
 * allocate the status-list place, sign ES256 with the identity CA, seal, append CredentialIssued),
 * beside the raw `signRaw` rate of the same key in the same run: what the signature alone allows.
 */
export async function benchCredentials(o: CredentialsBenchOptions): Promise<BenchReport> {
  return withBenchDatabase(o.adminUrl, async (url) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'registo-bench-credentials-'));
    const driver = new PostgresDriver({ connectionString: url, maxConnections: Math.max(10, o.concurrency + 4) });
    const store = await SqlEventStore.open(driver);
    const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
    try {
      const sealer = await SubjectSealer.open(driver, SoftwareKeyWrapper.generate());
      const allocator = new StatusListAllocator(driver);
      await allocator.migrate();
      const ctx = credentialIssuerContext(trust, { store, sealer, allocator, publicUrl: 'http://127.0.0.1:8080' });

      // The identities the run issues for, created up front (not timed).
      const created: Array<EventOf<Pick<IdentityEventData, 'IdentityCreated'>>> = [];
      const setup = progress('identities', o.identities);
      for (let i = 0; i < o.identities; i++) {
        const uin = String(3_000_000_000 + i);
        const regId = `R-bench-${i}`;
        const sealed = await sealer.seal(subjectIdFor(regId), record(i));
        const { events } = await store.append(identityStreamId(uin), [{ type: 'IdentityCreated', data: { uin, regId, residency: 'CITIZEN', sealed, civilRegistryIndex: null } }], { expectedRevision: 'no_stream' });
        const stored = expectEventOf('identity', events[0]!);
        if (stored.type !== 'IdentityCreated') throw new Error(`${stored.streamId}: expected IdentityCreated, stored ${stored.type}`);
        created.push(stored);
        setup.tick();
      }
      setup.stop();

      // Warm-up: one issuance outside the timing (first statement plans, key page-in).
      await issueIdentityCredential(ctx, created[0]!);
      const bar = progress('VCs', o.identities - 1);
      let next = 1;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          for (let i = next++; i < created.length; i = next++) {
            await issueIdentityCredential(ctx, created[i]!);
            bar.tick();
          }
        }),
      );
      const issuedPerSecond = (created.length - 1) / ((performance.now() - started) / 1000);
      bar.stop();

      const signer = trust.signers.identity_ca;
      const data = Buffer.alloc(600);
      await signer.signRaw!(data);
      let signatures = 0;
      const t0 = performance.now();
      const until = t0 + o.signSeconds * 1000;
      while (performance.now() < until) {
        data.writeUInt32BE(signatures, 0);
        await signer.signRaw!(data);
        signatures++;
      }
      const signRate = signatures / ((performance.now() - t0) / 1000);

      // The same VC built and signed with no I/O: where the time of an issuance goes.
      let signed = 0;
      const t1 = performance.now();
      const until1 = t1 + o.signSeconds * 1000;
      while (performance.now() < until1) {
        const now = new Date();
        await signVcJwt(ctx.vcKey, vcPayload({ credentialId: `nid-3000000000-r${signed}`, credentialType: 'NationalIdentityCredential', publicUrl: ctx.publicUrl, issuerName: ctx.issuerName, subjectId: 'urn:registo:uin:3000000000', claims: { uin: '3000000000', givenNames: 'Person', surname: 'Bench' }, issuedAt: now, expiresAt: new Date(now.getTime() + 1e10), signerMode: ctx.mode, credentialStatus: statusEntries(ctx.publicUrl, '1', signed % 131072) }));
        signed++;
      }
      const jwtRate = signed / ((performance.now() - t1) / 1000);
      return {
        bench: 'credentials',
        results: [
          metric('vc_issued_per_second', issuedPerSecond, 'VC/s', 'sign_raw_per_second', signRate),
          metric('vc_signed_without_io_per_second', jwtRate, 'VC/s', 'sign_raw_per_second', signRate),
        ],
      };
    } finally {
      await store.close();
      await trust.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

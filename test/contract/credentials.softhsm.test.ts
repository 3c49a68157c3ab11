import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import type { SignerConfig } from '@registo/hsm';
import { type TrustKeys, openTrustKeys, performKeyCeremony } from '@registo/trust';
import { verifyVcJwt } from '@registo/credentials';
import { type IdentityRecord, type SealedCredential, StatusListAllocator, credentialIssuerContext, credentialStreamId, handleCommand, identityDecider, identityStreamId, issueIdentityCredential } from '@registo/producers';
import type { SealedData } from '@registo/schemas';
import { testSoftHsm } from '../src/support/softhsm.js';

const PUBLIC_URL = 'https://registo.test';

/** Qualified mode: the identity CA key in the PKCS#11 token signs the VC (signRaw), and the VC says so. */
describe('verifiable credentials signed inside the SoftHSM2 token (qualified)', function () {
  this.timeout(300_000);
  let trust: TrustKeys;

  before(async () => {
    const hsm = await testSoftHsm();
    const signer: SignerConfig = { mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
    const dataDir = mkdtempSync(join(tmpdir(), 'registo-vc-qualified-'));
    await performKeyCeremony({ signer, dataDir, publicUrl: PUBLIC_URL });
    trust = await openTrustKeys({ signer, dataDir, publicUrl: PUBLIC_URL });
  });
  after(async () => trust?.close());

  it('issues a VC for an identity event with the token key; it verifies against the hierarchy and is labelled qualified', async () => {
    expect(trust.mode).to.equal('qualified');
    const driver = await PGliteDriver.open();
    const store = await SqlEventStore.open(driver);
    try {
      const sealer = await SubjectSealer.open(driver, SoftwareKeyWrapper.generate());
      const allocator = new StatusListAllocator(driver);
      await allocator.migrate();
      const ctx = credentialIssuerContext(trust, { store, sealer, allocator, publicUrl: PUBLIC_URL });
      const uin = '2345678901';
      const record: IdentityRecord = { demographics: { givenNames: 'Ana', surname: 'Neves', dateOfBirth: '1990-05-06', sex: 'F', nationality: 'STP', address: { district: 'Lobata', locality: 'Guadalupe' } }, biometrics: [], documents: [] };
      const sealed = await sealer.seal('subject-R-1', record);
      const { events } = await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId: 'R-1', residency: 'CITIZEN', sealed, civilRegistryIndex: null });
      const createdEvent = events[0]!;
      if (createdEvent.type !== 'IdentityCreated') throw new Error(`expected IdentityCreated, got ${createdEvent.type}`);
      const outcome = await issueIdentityCredential(ctx, createdEvent);
      expect(outcome.issued).to.equal(true);
      const [issued] = await store.readStream(credentialStreamId(uin));
      expect(issued!.data).to.include({ signerMode: 'qualified', kind: 'VC_JWT' });
      const { credential } = await sealer.open<SealedCredential>(issued!.data.sealed as SealedData);
      const v = await verifyVcJwt(credential, { identityCa: trust.certificates.identity_ca.x509, root: trust.certificates.root_ca.x509 });
      expect(v.signatureValid).to.equal(true);
      expect(v.problems).to.deep.equal([]);
      expect(v.payload).to.include({ signerMode: 'qualified' });
      expect((v.payload.issuer as { name: string }).name).to.equal('Registo Identity CA');
    } finally {
      await store.close();
    }
  });
});

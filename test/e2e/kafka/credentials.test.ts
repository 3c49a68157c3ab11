import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import { expect } from 'chai';
import * as x509 from '@peculiar/x509';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfra } from '@registo/deploy';
import { type RunningPlatform, startPlatform } from '@registo/cli';
import { createLogger } from '@registo/base';
import { PostgresDriver } from '@registo/event-store';
import { SubjectSealer } from '@registo/crypto';
import { HOLDER_PROOF_HEADER, signHolderProof } from '@registo/credentials';
import { categoryTopic } from '@registo/messaging';
import { loadConfig, loadPlatformKeys } from '@registo/config';
import { handleCommand, identityDecider, identityStreamId, subjectIdFor } from '@registo/producers';
import { createTestDatabase, readTopics, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { waitFor } from './processes.js';

x509.cryptoProvider.set(webcrypto);

const TOKENS = 'tok-channel:channel-1:holder_channel,tok-officer:officer-3:identity_officer';

/** The credentials role on the deployed form: it reads registo.identity.v1, and the mirror publishes what it appends. */
describe('credentials on PostgreSQL + Kafka: issuance from the identity topic, revocation, credential events on their topic', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let platform: RunningPlatform;
  let driver: PostgresDriver;
  let sealer: SubjectSealer;
  const settings = testKafkaSettings('cred');

  before(async () => {
    await ensureInfra();
    db = await createTestDatabase();
    const env = {
      ...process.env,
      DATABASE_URL: db.url,
      KAFKA_BROKERS: settings.brokers.join(','),
      SCHEMA_REGISTRY_URL: settings.registryUrl,
      REGISTO_TOPIC_PREFIX: settings.prefix,
      REGISTO_SIMULATORS: 'off',
      PORT: '0',
      HOST: '127.0.0.1',
      REGISTO_DATA_DIR: mkdtempSync(join(tmpdir(), 'registo-data-')),
      REGISTO_KEYS_FILE: join(mkdtempSync(join(tmpdir(), 'registo-keys-')), 'keys.json'),
      REGISTO_API_TOKENS: TOKENS,
    };
    platform = await startPlatform(loadConfig(env), createLogger('silent'));
    driver = new PostgresDriver({ connectionString: db.url });
    sealer = await SubjectSealer.open(driver, (await loadPlatformKeys(env.REGISTO_KEYS_FILE)).keyWrapper);
  });
  after(async () => {
    await driver?.close();
    await platform?.close();
    await db?.drop();
  });

  it('identities get VCs that verify; DECEASED revokes; every credential event reaches registo.credential.v1 intact', async () => {
    const store = platform.eventStore;
    const uins = ['2934567801', '2934567802', '2934567803'].map((u, i) => `${u.slice(0, 8)}${String(Date.now() % 90 + 10 + i).slice(-2)}`);
    for (const uin of uins) {
      const regId = `R-${uin}`;
      const sealed = await sealer.seal(subjectIdFor(regId), {
        demographics: { givenNames: 'Kafka', surname: 'Holder', dateOfBirth: '1991-02-03', sex: 'M', nationality: 'STP', address: { district: 'Lobata', locality: 'Guadalupe' } },
        biometrics: [],
        documents: [],
      });
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId, residency: 'CITIZEN', sealed, civilRegistryIndex: null });
    }
    const list = async (uin: string) =>
      ((await (await fetch(`${platform.url}/v1/holders/${uin}/credentials`, { headers: { authorization: 'Bearer tok-officer' } })).json()) as { items: Array<{ credentialId: string; status: string }> }).items;
    await waitFor('a VC for every identity', async () => (await Promise.all(uins.map(list))).every((items) => items.length === 1), 120_000);

    const id = (await list(uins[0]!))[0]!.credentialId;
    // The holder's key is bound in person (an officer submits its CSR); then the holder channel reads the VC with the holder's proof.
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const csr = (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=holder key', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } })).toString('pem');
    const bound = await fetch(`${platform.url}/v1/holders/${uins[0]}/credentials/x509`, { method: 'POST', headers: { authorization: 'Bearer tok-officer', 'content-type': 'application/json' }, body: JSON.stringify({ csr }) });
    expect(bound.status).to.equal(201);
    const proof = await signHolderProof(KeyObject.from(keys.privateKey), { uin: uins[0]!, method: 'GET', path: `/v1/credentials/${id}` });
    const jwt = ((await (await fetch(`${platform.url}/v1/credentials/${id}`, { headers: { authorization: 'Bearer tok-channel', [HOLDER_PROOF_HEADER]: proof } })).json()) as { credential: string }).credential;
    const verify = async () => (await (await fetch(`${platform.url}/v1/verify-credential`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ credential: jwt }) })).json()) as Record<string, unknown>;
    expect(await verify()).to.include({ valid: true, status: 'ACTIVE' });

    await handleCommand(store, identityDecider, identityStreamId(uins[0]!), { type: 'ChangeIdentityStatus', uin: uins[0]!, to: 'DECEASED', reason: 'SIGA death record', source: 'SIGA' });
    await waitFor('the revocations', async () => (await list(uins[0]!)).every((c) => c.status === 'REVOKED'), 120_000);
    expect(await verify()).to.include({ valid: false, status: 'REVOKED' });

    const stored = (await store.readAll()).filter((e) => e.streamId.startsWith('credential-'));
    expect(stored.map((e) => e.type).sort()).to.deep.equal(['CredentialIssued', 'CredentialIssued', 'CredentialIssued', 'CredentialIssued', 'CredentialRevoked', 'CredentialRevoked']);
    const onTopic = await readTopics(settings, stored.length, { topics: [categoryTopic('credential', settings.prefix)], timeoutMs: 120_000 });
    expect(onTopic.map((m) => m.event.hash).sort()).to.deep.equal(stored.map((e) => e.hash).sort());
    expect(onTopic.every((m) => m.key.startsWith('credential-'))).to.equal(true);
  });
});

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import { blindIndex } from '@registo/crypto';
import { SqlConsumer, SqlDeadLetterSink, StoreEventSource } from '@registo/messaging';
import { createIdentityWithNewUin, handleCommand, identityDecider, identityStreamId } from '@registo/producers';
import { findIdentitiesByCivilRegistryIndex, findIdentityByUin, identityRegistryProjection, replayProjection } from '@registo/projections';

const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

describe('identity register read model (embedded): by UIN and by civil-registry number', function () {
  this.timeout(120_000);

  it('follows creation, updates, status changes and erasure; searches by the blind index of the civil-registry number', async () => {
    const driver = await PGliteDriver.open();
    const store = await SqlEventStore.open(driver);
    const indexKey = randomBytes(32);
    const citizen = await createIdentityWithNewUin(store, {
      regId: 'R-100',
      residency: 'CITIZEN',
      sealed: { ...sealed, subjectId: 's-100' },
      civilRegistryIndex: blindIndex('RC-0000042-7', indexKey),
    });
    const foreigner = await createIdentityWithNewUin(store, { regId: 'R-200', residency: 'FOREIGNER', sealed: { ...sealed, subjectId: 's-200' } });
    await handleCommand(store, identityDecider, identityStreamId(citizen.uin), { type: 'UpdateIdentity', uin: citizen.uin, regId: 'R-101', changedFields: ['address'], sealed });
    await handleCommand(store, identityDecider, identityStreamId(citizen.uin), { type: 'ChangeIdentityStatus', uin: citizen.uin, to: 'DECEASED', reason: 'SIGA death record', source: 'SIGA' });
    await handleCommand(store, identityDecider, identityStreamId(foreigner.uin), { type: 'DestroySubjectKey', uin: foreigner.uin, subjectId: 's-200', legalBasis: 'court order', orderRef: null });

    const consumer = new SqlConsumer(driver, identityRegistryProjection, new StoreEventSource(store), new SqlDeadLetterSink(driver));
    const running = consumer.run();
    const head = await store.headPosition();
    for (let i = 0; i < 200 && consumer.stats.applied < head; i++) await new Promise((r) => setTimeout(r, 50));
    await consumer.stop();
    await running;
    expect(consumer.stats.applied).to.equal(head);

    const rows = await driver.transaction(async (tx) => ({
      citizen: await findIdentityByUin(tx, citizen.uin),
      foreigner: await findIdentityByUin(tx, foreigner.uin),
      byNumber: await findIdentitiesByCivilRegistryIndex(tx, blindIndex(' rc-0000042-7 ', indexKey)),
      otherNumber: await findIdentitiesByCivilRegistryIndex(tx, blindIndex('RC-0000043-5', indexKey)),
    }));
    expect(rows.citizen).to.deep.include({ status: 'DECEASED', residency: 'CITIZEN', regIds: ['R-100', 'R-101'], erased: false, revision: 2 });
    expect(rows.foreigner).to.deep.include({ status: 'ACTIVE', residency: 'FOREIGNER', civilRegistryIndex: null, erased: true });
    expect(rows.byNumber.map((r) => r.uin)).to.deep.equal([citizen.uin]);
    expect(rows.otherNumber).to.deep.equal([]);

    // The same rows come back from a replay.
    const before = await driver.query('SELECT * FROM identity_registry ORDER BY uin');
    await replayProjection(store, driver, identityRegistryProjection);
    expect(await driver.query('SELECT * FROM identity_registry ORDER BY uin')).to.deep.equal(before);
    await store.close();
  });
});

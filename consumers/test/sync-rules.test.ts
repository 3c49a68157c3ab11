import { expect } from 'chai';
import { RegistoError } from '@registo/schemas';
import {
  AGREEMENT,
  AgreementDataMissing,
  CREDENTIAL_STATUS_OF,
  SYNC_TRIGGERS,
  agreedNames,
  buildPayload,
  classify,
  diffRecords,
  triggersFor,
  type RegisterRecord,
} from '../src/index.js';

const demographics = {
  givenNames: 'Maria',
  surname: 'da Costa',
  dateOfBirth: '1990-04-02',
  sex: 'F' as const,
  nationality: 'STP',
  address: { district: 'Lobata', locality: 'Guadalupe', line: 'Rua 1' },
  placeOfBirth: 'Lobata',
  motherName: 'Ana da Costa',
  fatherName: 'João da Costa',
  civilRegistryNumber: 'RC-0000001-9',
  residencePermitNumber: 'AR-000001-9',
};

describe('sync agreement table and mapping', () => {
  it('every operation sends exactly its agreed fields, each from its source; nothing else of the record leaves', () => {
    // The agreement as docs/sync.md states it, written out here rather than read from AGREEMENT.
    const siga = { uin: '2345678901', civilRegistryNumber: 'RC-0000001-9' };
    const person = { givenNames: 'Maria', surname: 'da Costa', dateOfBirth: '1990-04-02', sex: 'F' };
    const immigration = { uin: '2345678901', permitNumber: 'AR-000001-9' };
    const expected: Record<'SIGA' | 'IMMIGRATION', Record<string, Record<string, string>>> = {
      SIGA: {
        ENROLLED: { ...siga, status: 'ENROLLED', ...person },
        UPDATED: { ...siga, status: 'UPDATED', ...person },
        ISSUED: { ...siga, status: 'ISSUED', credentialId: 'C-1' },
        DEACTIVATED: { ...siga, status: 'DEACTIVATED' },
        DECEASED: { ...siga, status: 'DECEASED' },
      },
      IMMIGRATION: {
        IDENTITY_LINKED: { ...immigration, operation: 'IDENTITY_LINKED' },
        CREDENTIAL_STATUS: { ...immigration, operation: 'CREDENTIAL_STATUS', credentialId: 'C-1', credentialStatus: 'ISSUED' },
      },
    };
    for (const system of ['SIGA', 'IMMIGRATION'] as const) {
      expect(Object.keys(AGREEMENT[system]).sort(), `${system}'s operations`).to.deep.equal(Object.keys(expected[system]).sort());
      for (const [operation, wanted] of Object.entries(expected[system])) {
        const body = buildPayload({ system, operation: operation as never, uin: '2345678901', credentialId: 'C-1', credentialStatus: 'ISSUED' }, demographics);
        expect(body, `${system} ${operation}`).to.deep.equal(wanted);
        for (const v of ['Rua 1', 'Ana da Costa', 'João da Costa', 'Guadalupe']) expect(JSON.stringify(body)).not.to.include(v);
      }
    }
    expect(buildPayload({ system: 'SIGA', operation: 'DECEASED', uin: 'U' }, demographics)).to.deep.equal({ uin: 'U', civilRegistryNumber: 'RC-0000001-9', status: 'DECEASED' });
    expect(buildPayload({ system: 'IMMIGRATION', operation: 'IDENTITY_LINKED', uin: 'U' }, demographics)).to.deep.equal({ uin: 'U', permitNumber: 'AR-000001-9', operation: 'IDENTITY_LINKED' });
    expect([...agreedNames('IMMIGRATION')].sort()).to.deep.equal(['credentialId', 'credentialStatus', 'operation', 'permitNumber', 'uin']);
  });

  it('refuses to send a request missing an agreed value rather than sending less', () => {
    const { civilRegistryNumber: _c, ...without } = demographics;
    expect(() => buildPayload({ system: 'SIGA', operation: 'ENROLLED', uin: 'U' }, without)).to.throw(AgreementDataMissing, /civilRegistryNumber/);
    expect(classify(new AgreementDataMissing('x'))).to.include({ code: 'SYNC_DATA_MISSING', retryable: false });
  });

  it('maps event types to syncs: citizens to SIGA, foreigners to Immigration, credential types by table', () => {
    const t = (type: string, data: Record<string, unknown>, residency: 'CITIZEN' | 'FOREIGNER') => [...triggersFor({ type, data, residency }, 'SIGA'), ...triggersFor({ type, data, residency }, 'IMMIGRATION')].map((x) => `${x.system}:${x.operation}`);
    expect(t('IdentityCreated', { uin: 'U' }, 'CITIZEN')).to.deep.equal(['SIGA:ENROLLED']);
    expect(t('IdentityCreated', { uin: 'U' }, 'FOREIGNER')).to.deep.equal(['IMMIGRATION:IDENTITY_LINKED']);
    expect(t('IdentityUpdated', { uin: 'U' }, 'CITIZEN')).to.deep.equal(['SIGA:UPDATED']);
    expect(t('IdentityStatusChanged', { uin: 'U', to: 'DECEASED' }, 'CITIZEN')).to.deep.equal(['SIGA:DECEASED']);
    expect(t('IdentityStatusChanged', { uin: 'U', to: 'BLOCKED' }, 'CITIZEN')).to.deep.equal(['SIGA:DEACTIVATED']);
    expect(t('IdentityStatusChanged', { uin: 'U', to: 'ACTIVE' }, 'CITIZEN')).to.deep.equal(['SIGA:UPDATED']);
    expect(t('IdentityStatusChanged', { uin: 'U', to: 'DEACTIVATED' }, 'FOREIGNER')).to.deep.equal([]);
    expect(t('SubjectKeyDestroyed', { uin: 'U' }, 'CITIZEN')).to.deep.equal([]);
    expect(t('CredentialIssued', { uin: 'U', credentialId: 'C' }, 'CITIZEN')).to.deep.equal(['SIGA:ISSUED']);
    for (const type of Object.keys(CREDENTIAL_STATUS_OF)) {
      expect(t(type, { uin: 'U', credentialId: 'C' }, 'FOREIGNER'), type).to.deep.equal(['IMMIGRATION:CREDENTIAL_STATUS']);
      expect(SYNC_TRIGGERS[type]!({ type, data: { uin: 'U', credentialId: 'C' }, residency: 'FOREIGNER' })[0]!.credentialStatus).to.equal(CREDENTIAL_STATUS_OF[type]);
    }
    expect(t('CredentialRevoked', { uin: 'U', credentialId: 'C' }, 'CITIZEN')).to.deep.equal([]);
  });

  it('classifies failures: outages and malformed replies retry, refusals and erasure do not', () => {
    expect(classify(new RegistoError('EXTERNAL_UNAVAILABLE', 'down'))).to.include({ retryable: true });
    expect(classify(new RegistoError('EXTERNAL_REPLY_INVALID', 'garbage'))).to.include({ retryable: true });
    expect(classify(new RegistoError('EXTERNAL_REJECTED', '400'))).to.include({ retryable: false, code: 'EXTERNAL_REJECTED' });
    expect(classify(new RegistoError('SUBJECT_KEY_DESTROYED', 'gone'))).to.include({ retryable: false, code: 'SYNC_SUBJECT_ERASED' });
  });
});

describe('reconciliation rules', () => {
  const reg = (uin: string, status: RegisterRecord['status'] = 'ACTIVE', attributes: Record<string, string> | null = { civilRegistryNumber: 'RC-1', givenNames: 'Maria', surname: 'da Costa', dateOfBirth: '1990-04-02', sex: 'F' }): RegisterRecord => ({ uin, status, erased: attributes === null, attributes });
  const ext = (uin: string, over: Record<string, string | null> = {}) => ({ uin, civilRegistryNumber: 'RC-1', givenNames: 'MARIA', surname: 'Da  Costa', dateOfBirth: '1990-04-02', sex: 'F', identityStatus: 'ACTIVE', civilStatus: 'ALIVE', ...over });

  it('finds nothing when the two agree (case, accents and spacing aside)', () => {
    expect(diffRecords('SIGA', [reg('1'), reg('2', 'BLOCKED')], [ext('1'), ext('2', { identityStatus: 'DEACTIVATED' })])).to.deep.equal([]);
  });

  it('names each difference with its kind, both values and the rule that resolves it', () => {
    const d = diffRecords('SIGA', [reg('1'), reg('2'), reg('3', 'DECEASED'), reg('4', 'ACTIVE', null)], [ext('1', { surname: 'Costa' }), ext('3', { identityStatus: 'DECEASED', civilStatus: 'ALIVE' }), ext('4', { surname: 'whatever', civilStatus: 'DECEASED' }), ext('9')]);
    expect(d.map((x) => [x.uin, x.field, x.kind, x.rule])).to.deep.equal([
      ['1', 'surname', 'VALUE_DIFFERS', null],
      ['2', 'record', 'MISSING_IN_EXTERNAL', 'register-authoritative-presence'],
      ['3', 'civilStatus', 'VALUE_DIFFERS', null],
      ['4', 'civilStatus', 'VALUE_DIFFERS', 'siga-authoritative-civil-status'],
      ['9', 'record', 'MISSING_IN_REGISTER', null],
    ]);
    expect(d[0]).to.include({ registerValue: 'da Costa', externalValue: 'Costa', personal: true });
  });

  it('Immigration: a permit expired or revoked there while the identity is active here', () => {
    const r = (uin: string, status: RegisterRecord['status'] = 'ACTIVE') => ({ uin, status, erased: false, attributes: { permitNumber: `AR-${uin}` } });
    const x = (uin: string, permitStatus: string) => ({ uin, permitNumber: `AR-${uin}`, permitStatus });
    const d = diffRecords('IMMIGRATION', [r('1'), r('2'), r('3', 'DEACTIVATED')], [x('1', 'VALID'), x('2', 'REVOKED'), x('3', 'EXPIRED')]);
    expect(d.map((y) => [y.uin, y.field, y.externalValue, y.rule])).to.deep.equal([['2', 'permitStatus', 'REVOKED', 'immigration-authoritative-permit']]);
  });
});

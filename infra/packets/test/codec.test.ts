import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import * as x509 from '@peculiar/x509';
import { canonicalJson, isRegistoError } from '@registo/schemas';
import {
  createRegistrationAuthority,
  exportDeviceCredentials,
  exportIntakeKeyJwk,
  exportIntakePublicJwk,
  exportPrivateKeyPem,
  exportRegistrationAuthority,
  importDeviceCredentials,
  importIntakeKeyJwk,
  importIntakeKeyPem,
  importIntakePublicJwk,
  importRegistrationAuthority,
  issueDeviceCertificate,
  openPacket,
  packetHashOf,
  sealPacket,
  type DeviceCredentials,
  type RegistrationAuthority,
} from '../src/index.js';
import * as fixtures from './fixtures.js';
import { rejection, type PacketTestEnv } from './fixtures.js';

const DAY_MS = 86_400_000;

/** A CA made by hand, for what createRegistrationAuthority deliberately never makes. */
async function handMadeCa(name: string, signer: RegistrationAuthority | null, pathLength?: number): Promise<RegistrationAuthority> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: signer ? signer.certificate.subjectName : `CN=${name}`,
    publicKey: keys.publicKey,
    signingKey: signer ? signer.keys.privateKey : keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + DAY_MS),
    extensions: [new x509.BasicConstraintsExtension(true, pathLength, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { certificate, certificatePem: certificate.toString('pem'), keys };
}

describe('enrollment packets: seal and open', () => {
  let env: PacketTestEnv;
  before(async () => {
    env = await fixtures.createPacketTestEnv();
  });

  const seal = (content: unknown, device: { privateKey: webcrypto.CryptoKey; certificatePem: string; chainPems?: string[] }) =>
    sealPacket(content, { device, intakePublicKey: env.intake.publicKey, intakeKid: env.intake.kid });

  it('round trip: a citizen NEW packet opens to the same content, signer and hash', async () => {
    const packet = fixtures.validPacket({}, env.now);
    const body = await env.seal(packet);
    expect(body.split('.')).to.have.length(5);
    const header = JSON.parse(Buffer.from(body.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    expect(header).to.include({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: env.intake.kid, cty: 'JOSE' });
    expect(body).to.not.include('Neto');

    const opened = await openPacket(body, env.trust);
    expect(opened.packet).to.deep.equal(packet);
    expect(opened.packet.demographics.nationality).to.equal('STP');
    expect(opened.packetHash).to.equal(packetHashOf(packet)).and.match(/^[0-9a-f]{64}$/);
    expect(opened.signer.deviceId).to.equal(env.device.deviceId);
    expect(opened.signer.serialNumber).to.equal(env.device.certificate.serialNumber);
    expect(opened.signer.fingerprint).to.match(/^[0-9a-f]{64}$/);
  });

  it('round trip: a foreigner, an UPDATE with its UIN, bytes instead of text, a trailing newline', async () => {
    const foreigner = fixtures.validForeignerPacket(env.now);
    const opened = await openPacket(Buffer.from(`${await env.seal(foreigner)}\n`), env.trust);
    expect(opened.packet.demographics.nationality).to.not.equal('STP');
    const update = fixtures.validPacket({ packetType: 'UPDATE', uin: '2345678901' }, env.now);
    expect((await openPacket(new TextEncoder().encode(await env.seal(update)), env.trust)).packet.uin).to.equal('2345678901');
  });

  it('packetHash depends on the content only: not on encryption randomness nor on key order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Neto', 'Trovoada', 'Espírito Santo', 'Bragança'), fc.integer({ min: 40, max: 100 }), async (surname, quality) => {
        const packet = fixtures.validPacket({ regId: '10031-00042-20261122093015', demographics: { surname } }, env.now);
        packet.biometrics[0]!.quality = quality;
        const reordered = Object.fromEntries(Object.entries(packet).reverse());
        const [a, b] = [await env.seal(packet), await env.seal(reordered)];
        expect(a).to.not.equal(b);
        const [oa, ob] = [await openPacket(a, env.trust), await openPacket(b, env.trust)];
        expect(oa.packetHash).to.equal(ob.packetHash).and.equal(packetHashOf(packet));
      }),
      { numRuns: 15 },
    );
  });

  it('any one-character change to a sealed packet is refused, never authenticated', async () => {
    const body = await env.seal(fixtures.validPacket({}, env.now));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: body.length - 1 }), fc.constantFrom(...alphabet), async (at, ch) => {
        fc.pre(body[at] !== ch);
        const e = await rejection(openPacket(body.slice(0, at) + ch + body.slice(at + 1), env.trust));
        expect(isRegistoError(e)).to.equal(true);
        expect(e.code).to.be.oneOf(['PACKET_MALFORMED', 'PACKET_DECRYPTION_FAILED']);
        expect(e.details.authenticated).to.equal(false);
      }),
      { numRuns: 60 },
    );
  });

  it('arbitrary input is refused before authentication', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 200 })), async (body) => {
        const e = await rejection(openPacket(body, env.trust));
        expect(isRegistoError(e)).to.equal(true);
        expect(e.details.authenticated).to.equal(false);
      }),
      { numRuns: 100 },
    );
  });

  it('maxBytes and qualityThreshold are the caller’s to set', async () => {
    const packet = fixtures.validPacket({}, env.now);
    packet.biometrics[0]!.quality = 55;
    const body = await env.seal(packet);
    expect((await rejection(openPacket(body, { ...env.trust, maxBytes: body.length - 1 }))).code).to.equal('PACKET_TOO_LARGE');
    const low = await rejection(openPacket(body, { ...env.trust, qualityThreshold: 60 }));
    expect(low.code).to.equal('PACKET_QUALITY_TOO_LOW');
    expect(low.details).to.include({ authenticated: true, regId: packet.regId, packetHash: packetHashOf(packet), threshold: 60 });
    expect((await openPacket(body, { ...env.trust, maxBytes: body.length })).packet.regId).to.equal(packet.regId);
  });

  it('several CAs may be trusted at once; a signer is judged at `now`', async () => {
    const other = await issueDeviceCertificate(env.otherCa, { deviceId: 'dev-00042', centreId: '10031', notBefore: new Date(Date.now() - 30 * DAY_MS) });
    const body = await seal(fixtures.validPacket({}, env.now), other);
    expect((await rejection(openPacket(body, env.trust))).code).to.equal('PACKET_SIGNER_UNTRUSTED');
    const both = { ...env.trust, trustedCaPems: [env.ca.certificatePem, env.otherCa.certificatePem] };
    expect((await openPacket(body, both)).signer.deviceId).to.equal('dev-00042');
    const later = await rejection(openPacket(body, { ...both, now: () => new Date(Date.now() + 800 * DAY_MS) }));
    expect(later.code).to.equal('PACKET_SIGNER_EXPIRED');
  });

  it('an expired CA makes its devices expired too', async () => {
    const oldCa = await createRegistrationAuthority({ notBefore: new Date(Date.now() - 20 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
    const device = await issueDeviceCertificate(oldCa, { deviceId: 'dev-00042', centreId: '10031', notBefore: new Date(Date.now() - 30 * DAY_MS) });
    const body = await seal(fixtures.validPacket({}, env.now), device);
    const e = await rejection(openPacket(body, { ...env.trust, trustedCaPems: [oldCa.certificatePem] }));
    expect(e.code).to.equal('PACKET_SIGNER_EXPIRED');
    expect(e.message).to.include('CA certificate');
  });

  it('a signer certificate without digitalSignature is not trusted', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      subject: 'CN=dev-00042',
      issuer: env.ca.certificate.subjectName,
      publicKey: keys.publicKey,
      signingKey: env.ca.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true)],
    });
    const body = await seal(fixtures.validPacket({}, env.now), { privateKey: keys.privateKey, certificatePem: cert.toString('pem') });
    const e = await rejection(openPacket(body, env.trust));
    expect(e.code).to.equal('PACKET_SIGNER_UNTRUSTED');
    expect(e.message).to.include('digital signatures');
  });

  it('the signer is known by its centre too: a certificate naming no single five-digit centre (OU) is not trusted', async () => {
    const opened = await openPacket(await env.seal(fixtures.validPacket({}, env.now)), env.trust);
    expect(opened.signer).to.include({ deviceId: 'dev-00042', centreId: '10031' });
    expect(opened.signer.certifiedFrom.getTime()).to.equal(env.device.certificate.notBefore.getTime());
    for (const subject of ['CN=dev-00042', 'CN=dev-00042, OU=STP-PAGUE-07', 'CN=dev-00042, OU=10031, OU=20077']) {
      const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const cert = await x509.X509CertificateGenerator.create({
        subject,
        issuer: env.ca.certificate.subjectName,
        publicKey: keys.publicKey,
        signingKey: env.ca.keys.privateKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        notBefore: new Date(Date.now() - 30 * DAY_MS),
        extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
      });
      const body = await seal(fixtures.validPacket({}, env.now), { privateKey: keys.privateKey, certificatePem: cert.toString('pem') });
      const e = await rejection(openPacket(body, env.trust));
      expect(e.code, subject).to.equal('PACKET_SIGNER_UNTRUSTED');
      expect(e.message, subject).to.include('centre');
    }
    const unissued = await rejection(issueDeviceCertificate(env.ca, { deviceId: 'dev-00042', centreId: 'STP-PAGUE-07' }));
    expect(unissued.message).to.include('five-digit');
  });

  it('intermediate CAs sent in x5c are followed, within the root’s pathLength', async () => {
    const root = await handMadeCa('Registo Root', null);
    const intermediate = await handMadeCa('Registo Centres CA', root, 0);
    const device = await issueDeviceCertificate(intermediate, { deviceId: 'dev-00042', centreId: '10031', notBefore: new Date(Date.now() - 30 * DAY_MS) });
    const packet = fixtures.validPacket({}, env.now);
    const trust = { ...env.trust, trustedCaPems: [root.certificatePem] };
    const withChain = await seal(packet, { ...device, chainPems: [intermediate.certificatePem] });
    expect((await openPacket(withChain, trust)).packet).to.deep.equal(packet);
    expect((await rejection(openPacket(await seal(packet, device), trust))).code).to.equal('PACKET_SIGNER_UNTRUSTED');

    const strictRoot = await handMadeCa('Registo Strict Root', null, 0);
    const below = await handMadeCa('Registo Sub CA', strictRoot);
    const deep = await issueDeviceCertificate(below, { deviceId: 'dev-00042', centreId: '10031', notBefore: new Date(Date.now() - 30 * DAY_MS) });
    const body = await seal(packet, { ...deep, chainPems: [below.certificatePem] });
    const e = await rejection(openPacket(body, { ...env.trust, trustedCaPems: [strictRoot.certificatePem] }));
    expect(e.code).to.equal('PACKET_SIGNER_UNTRUSTED');
    expect(e.message).to.include('intermediate');
  });

  it('seals any JSON value, so hostile content can be tested', async () => {
    const regId = fixtures.validPacket({}, env.now).regId;
    for (const content of [42, 'text', [1, 2], { regId }]) {
      const e = await rejection(openPacket(await env.seal(content), env.trust));
      expect(e.code).to.equal('PACKET_SCHEMA_INVALID');
      expect(e.details).to.include({ authenticated: true, packetHash: packetHashOf(content) });
    }
    const e = await rejection(openPacket(await env.seal({ regId }), env.trust));
    expect(e.details.regId).to.equal(regId);
    expect(e.message).to.include('demographics').and.include('biometrics');
  });
});

describe('enrollment packets: keys and certificates as PEM and JWK', () => {
  it('the CA, a device and the intake key survive export and import', async () => {
    const fresh = await fixtures.createPacketTestEnv();
    const ca = await importRegistrationAuthority(await exportRegistrationAuthority(fresh.ca));
    const issued = await issueDeviceCertificate(ca, { deviceId: 'dev-00042', centreId: '10031', notBefore: new Date(Date.now() - 30 * DAY_MS) });
    const device: DeviceCredentials = await importDeviceCredentials(await exportDeviceCredentials(issued));
    expect(device).to.include({ deviceId: 'dev-00042', centreId: '10031' });

    const privateJwk = await exportIntakeKeyJwk(fresh.intake);
    expect(privateJwk).to.include({ kid: fresh.intake.kid, alg: 'ECDH-ES+A256KW', kty: 'EC', crv: 'P-256' });
    const publicJwk = await exportIntakePublicJwk(fresh.intake);
    expect(publicJwk).to.not.have.property('d');
    const intake = await importIntakeKeyJwk(JSON.parse(JSON.stringify(privateJwk)));
    const clientSide = await importIntakePublicJwk(JSON.parse(JSON.stringify(publicJwk)));
    expect(clientSide.kid).to.equal(fresh.intake.kid);

    const packet = fixtures.validPacket({}, fresh.now);
    const body = await sealPacket(packet, { device, intakePublicKey: clientSide.publicKey, intakeKid: clientSide.kid });
    const trust = { intakePrivateKey: intake.privateKey, trustedCaPems: [ca.certificatePem] };
    expect((await openPacket(body, trust)).packetHash).to.equal(packetHashOf(packet));

    const fromPem = await importIntakeKeyPem(await exportPrivateKeyPem(fresh.intake.privateKey));
    expect(fromPem.kid).to.equal(fresh.intake.kid);
    expect((await openPacket(body, { ...trust, intakePrivateKey: fromPem.privateKey })).packet).to.deep.equal(packet);
    expect(canonicalJson(await exportIntakePublicJwk(fromPem))).to.equal(canonicalJson(publicJwk));
  });
});

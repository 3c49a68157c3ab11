import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { importIntakePublicJwk, sealPacket } from '@registo/packets';
import { loadQualifiedIntakeTrust, readRegistrationCaCertificates } from '@registo/config';
import { RegistoError } from '@registo/schemas';
import { createPacketTestEnv, validPacket } from '../../src/index.js';
import { type TestSoftHsm, qualifiedStartEnv, testSoftHsm } from '../../src/support/softhsm.js';
import { exitOf, runCli, startCli } from './run-cli.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : [];
  });
}

describe('registo start in qualified mode with registration CAs by certificate (REGISTO_REGISTRATION_CA_CERTS)', function () {
  this.timeout(180_000);
  let hsm: TestSoftHsm;
  const roots: string[] = [];
  const scratch = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'registo-qcert-'));
    roots.push(dir);
    return dir;
  };

  before(async () => {
    hsm = await testSoftHsm();
  });
  after(() => {
    for (const dir of roots) rmSync(dir, { recursive: true, force: true });
  });

  const qualified = (dataDir: string, caCerts: string): NodeJS.ProcessEnv => ({ ...qualifiedStartEnv(hsm, dataDir), REGISTO_REGISTRATION_CA_CERTS: caCerts });

  it('accepts packets from devices of the given CA sealed to the published intake key (in the token), refuses others, and keeps no private key in any file', async () => {
    const root = scratch();
    const dataDir = join(root, 'data');
    // The registration-client CA is run elsewhere: the platform gets its certificate, the test keeps its key.
    const env = await createPacketTestEnv();
    const caFile = join(root, 'registration-cas.pem');
    writeFileSync(caFile, env.ca.certificatePem);
    const ceremony = await runCli(['keys', 'init'], qualified(dataDir, caFile));
    expect(ceremony.code, ceremony.stderr).to.equal(0);
    expect(ceremony.stdout).to.include('registo-intake (intake_key)');
    const { child, url, output } = await startCli(['start', '--port', '0'], qualified(dataDir, caFile));
    try {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { signer: { kekKind: string; hmacKeys: string[]; intakeKey: string } };
      expect(ready.signer.kekKind).to.equal('pkcs11');
      expect(ready.signer.hmacKeys.every((k) => k.startsWith('pkcs11:'))).to.equal(true);
      expect(ready.signer.intakeKey).to.equal(`pkcs11:${hsm.tokenLabel}/registo-intake`);
      // Registration clients learn the intake PUBLIC key from the platform: no private part in it.
      const published = await fetch(`${url}/v1/intake/key`);
      expect(published.status).to.equal(200);
      const jwk = (await published.json()) as Record<string, unknown>;
      expect(jwk).to.include({ kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', use: 'enc' });
      expect(jwk).to.not.have.property('d');
      const intake = await importIntakePublicJwk(jwk as never);
      const upload = async (packet: string) =>
        fetch(`${url}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose', authorization: 'Bearer dev-client' }, body: packet });
      const good = await upload(await sealPacket(validPacket(), { device: env.device, intakePublicKey: intake.publicKey, intakeKid: intake.kid }));
      expect(good.status, await good.clone().text()).to.be.within(200, 299);
      const foreign = await upload(await sealPacket(validPacket(), { device: env.foreignDevice, intakePublicKey: intake.publicKey, intakeKid: intake.kid }));
      expect(foreign.status).to.equal(403);
      expect(((await foreign.json()) as { code: string }).code).to.equal('PACKET_SIGNER_UNTRUSTED');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitOf(child)).to.equal(0);
    expect(output()).to.not.include('development key file still supplies');
    // No development key file, no intake key file: no file under the data directory (keys/ and
    // trust/ included) holds a private key, PEM or JWK.
    expect(existsSync(join(dataDir, 'keys', 'software-keys.json'))).to.equal(false);
    expect(existsSync(join(dataDir, 'keys', 'intake-key.json'))).to.equal(false);
    const files = filesUnder(dataDir);
    expect(files.length).to.be.greaterThan(5);
    const pemKeys = files.filter((f) => readFileSync(f).includes('PRIVATE KEY'));
    expect(pemKeys).to.deep.equal([]);
    const jwkKeys = files.filter((f) => /"d"\s*:/.test(readFileSync(f, 'latin1')));
    expect(jwkKeys).to.deep.equal([]);
  });

  it('refuses a CA file that holds a private key, no certificate, or a certificate that is not a CA\'s', async () => {
    const root = scratch();
    const env = await createPacketTestEnv();
    const refusal = async (text: string): Promise<string> => {
      const file = join(root, `ca-${Math.random().toString(36).slice(2)}.pem`);
      writeFileSync(file, text);
      const e = await readRegistrationCaCertificates(file).catch((error: unknown) => error);
      expect(e).to.be.instanceOf(RegistoError);
      expect((e as RegistoError).code).to.equal('CONFIG_INVALID');
      return (e as RegistoError).message;
    };
    expect(await refusal(`${env.ca.certificatePem}-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n`)).to.match(/holds a private key/);
    expect(await refusal('nothing here\n')).to.match(/holds no PEM certificate/);
    expect(await refusal(env.device.certificatePem)).to.match(/is not a CA certificate/);
    const two = join(root, 'two.pem');
    writeFileSync(two, env.ca.certificatePem + env.otherCa.certificatePem);
    expect(await readRegistrationCaCertificates(two)).to.have.length(2);
    const missing = await loadQualifiedIntakeTrust(join(root, 'none.pem')).catch((e: unknown) => e);
    expect((missing as RegistoError).message).to.match(/REGISTO_REGISTRATION_CA_CERTS/);
    // Nothing is written: the intake key is the token's now.
    const trust = await loadQualifiedIntakeTrust(two);
    expect(trust.trustedCaPems).to.have.length(2);
    expect(existsSync(join(root, 'keys'))).to.equal(false);
  });
});

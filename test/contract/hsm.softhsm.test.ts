import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SoftwareKeyWrapper } from '@registo/crypto';
import {
  Pkcs11KeyWrapper,
  Pkcs11Signer,
  Pkcs11Token,
  type Signer,
  SoftwareSigner,
  describeSignerConfig,
  loadSignerConfig,
  measureSignRate,
  openSigner,
} from '@registo/hsm';
import { initToken, listSoftHsmTokens } from '@registo/deploy';
import { RegistoError } from '@registo/schemas';
import { run } from '../src/support/processes.js';
import { type TestSoftHsm, testSoftHsm } from '../src/support/softhsm.js';
import { keyWrapperContract } from './key-wrapper.contract.js';
import { signerContract } from './signer.contract.js';
import { refusal } from '../src/support/refusal.js';

const SIGNER_KEY = 'contract-signer';
const KEK = 'contract-kek';
const OTHER_KEK = 'contract-kek-other';
const TEST_PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

async function openToken(hsm?: TestSoftHsm): Promise<Pkcs11Token> {
  const h = hsm ?? (await testSoftHsm());
  return Pkcs11Token.open({ module: h.module, tokenLabel: h.tokenLabel, userPin: h.userPin, env: h.env });
}

/** pkcs11-tool --list-objects → one entry per object: its header, label and Access flags. */
function parseObjects(out: string): { kind: string; label: string; access: string[]; usage: string[] }[] {
  const objects: { kind: string; label: string; access: string[]; usage: string[] }[] = [];
  for (const block of out.split(/^(?=\S.* Object;)/m)) {
    const header = /^(\S.*) Object;/.exec(block);
    if (!header) continue;
    const field = (name: string) => new RegExp(`^\\s+${name}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '';
    const list = (name: string) => field(name).split(',').map((s) => s.trim()).filter(Boolean);
    objects.push({ kind: header[1]!, label: field('label'), access: list('Access'), usage: list('Usage') });
  }
  return objects;
}

// ---------------------------------------------------------------------------------------------
// The contracts, for the software implementations and for those over PKCS#11 (SoftHSM2).

signerContract('SoftwareSigner', { mode: 'non_qualified', open: async () => SoftwareSigner.generate('contract-software') });

signerContract('Pkcs11Signer (SoftHSM2, via openSigner qualified)', {
  mode: 'qualified',
  async open() {
    const hsm = await testSoftHsm();
    const token = await openToken(hsm);
    try {
      await token.ensureEcKey(SIGNER_KEY);
    } finally {
      await token.close();
    }
    return openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } });
  },
});

keyWrapperContract('SoftwareKeyWrapper', {
  kind: 'software',
  open: async () => SoftwareKeyWrapper.generate('software-kek-a'),
  openOther: async () => SoftwareKeyWrapper.generate('software-kek-b'),
});

/** A key wrapper on its own session with the AES key `label` (made if missing); the session closes with it, or at once on failure. */
async function openKeyWrapper(label: string): Promise<Pkcs11KeyWrapper> {
  const token = await openToken();
  try {
    await token.ensureAesKey(label);
    return await Pkcs11KeyWrapper.open(token, label, { ownsToken: true });
  } catch (error) {
    await token.close();
    throw error;
  }
}

keyWrapperContract('Pkcs11KeyWrapper (SoftHSM2)', {
  kind: 'pkcs11',
  open: () => openKeyWrapper(KEK),
  openOther: () => openKeyWrapper(OTHER_KEK),
  close: (wrapper) => (wrapper as Pkcs11KeyWrapper).close(),
});

// ---------------------------------------------------------------------------------------------

describe('SoftHSM2 token of our own (deploy: ensureSoftHsm, initToken)', () => {
  let hsm: TestSoftHsm;
  before(async () => {
    hsm = await testSoftHsm();
  });

  it('uses a private configuration whose token directory is ours', async () => {
    expect(existsSync(hsm.module)).to.equal(true);
    const conf = await readFile(hsm.conf, 'utf8');
    expect(conf).to.include(`directories.tokendir = ${join(hsm.dir, 'tokens')}`);
    expect(await listSoftHsmTokens(hsm.conf)).to.deep.equal([hsm.tokenLabel]);
  });

  it('initialises a token only once per label, and finds tokens by label as their slots move', async () => {
    const again = await initToken({ label: hsm.tokenLabel, soPin: hsm.soPin, userPin: hsm.userPin, conf: hsm.conf });
    expect(again.created).to.equal(false);
    expect(again).to.include({ module: hsm.module, conf: hsm.conf, label: hsm.tokenLabel, userPin: hsm.userPin });
    const second = await initToken({ label: 'registo-second', soPin: hsm.soPin, userPin: '5678-second', conf: hsm.conf });
    expect(second.created).to.equal(true);
    expect((await listSoftHsmTokens(hsm.conf)).sort()).to.deep.equal(['registo-second', hsm.tokenLabel].sort());
    const token = await Pkcs11Token.open({ module: hsm.module, tokenLabel: 'registo-second', userPin: '5678-second', env: hsm.env });
    expect(token.tokenLabel).to.equal('registo-second');
    await token.close();
    expect((await initToken({ label: 'registo-second', soPin: hsm.soPin, userPin: '5678-second', conf: hsm.conf })).created).to.equal(false);
  });
});

describe('Pkcs11Token (SoftHSM2)', () => {
  let hsm: TestSoftHsm;
  let token: Pkcs11Token;
  before(async () => {
    hsm = await testSoftHsm();
    token = await openToken(hsm);
    await token.ensureEcKey(SIGNER_KEY);
    await token.ensureAesKey(KEK);
  });
  after(() => token?.close());

  it('ensureEcKey twice gives the same key pair; there is one pair with that label', async () => {
    const first = await token.ensureEcKey('idempotent-ec');
    const second = await token.ensureEcKey('idempotent-ec');
    expect(first.created).to.equal(true);
    expect(second.created).to.equal(false);
    expect(second.spki.equals(first.spki)).to.equal(true);
    expect(second.id.equals(first.id)).to.equal(true);
    const objects = await token.keyAttributes('idempotent-ec');
    expect(objects.map((o) => o.class).sort()).to.deep.equal(['private', 'public']);
    // A signature made through the first handle verifies with the second's public key.
    const signer = await Pkcs11Signer.open(token, 'idempotent-ec');
    const data = Buffer.from('same key');
    expect(verify('sha256', data, { key: createPublicKey({ key: second.spki, format: 'der', type: 'spki' }), dsaEncoding: 'der' }, await signer.sign(data))).to.equal(true);
  });

  it('ensureEcKey / ensureAesKey called concurrently for one label create one key', async () => {
    const pairs = await Promise.all([1, 2, 3].map(() => token.ensureEcKey('concurrent-ec')));
    expect(pairs.filter((p) => p.created).length).to.equal(1);
    expect(new Set(pairs.map((p) => p.spki.toString('hex'))).size).to.equal(1);
    expect((await token.keyAttributes('concurrent-ec')).length).to.equal(2);
    const keks = await Promise.all([1, 2, 3].map(() => token.ensureAesKey('concurrent-aes')));
    expect(keks.filter((k) => k.created).length).to.equal(1);
    expect((await token.keyAttributes('concurrent-aes')).length).to.equal(1);
  });

  it('ensureAesKey twice gives the same key: what one wraps the other unwraps', async () => {
    const first = await token.ensureAesKey('idempotent-aes');
    const second = await token.ensureAesKey('idempotent-aes');
    expect([first.created, second.created]).to.deep.equal([true, false]);
    expect(second.id.equals(first.id)).to.equal(true);
    expect((await token.keyAttributes('idempotent-aes')).length).to.equal(1);
    const a = await Pkcs11KeyWrapper.open(token, 'idempotent-aes');
    const dataKey = randomBytes(32);
    const wrapped = await a.wrap(dataKey);
    await token.ensureAesKey('idempotent-aes');
    const b = await Pkcs11KeyWrapper.open(token, 'idempotent-aes');
    expect((await b.unwrap(wrapped)).equals(dataKey)).to.equal(true);
  });

  it('keys are generated in the token, private, sensitive and never extractable (graphene attributes)', async () => {
    const [privateKey] = (await token.keyAttributes(SIGNER_KEY)).filter((k) => k.class === 'private');
    expect(privateKey).to.include({ keyType: 'ec', token: true, private: true, sensitive: true, alwaysSensitive: true, extractable: false, neverExtractable: true, local: true, sign: true });
    expect(privateKey).to.include({ decrypt: false, unwrap: false, derive: false });
    const [publicKey] = (await token.keyAttributes(SIGNER_KEY)).filter((k) => k.class === 'public');
    expect(publicKey).to.include({ keyType: 'ec', token: true, verify: true, encrypt: false, wrap: false });
    const [kek] = await token.keyAttributes(KEK);
    expect(kek).to.include({ class: 'secret', keyType: 'aes', token: true, private: true, sensitive: true, alwaysSensitive: true, extractable: false, neverExtractable: true, local: true });
    expect(kek).to.include({ wrap: true, unwrap: true, encrypt: false, decrypt: false, sign: false, verify: false });
    expect(await token.heldInTokenProblems(SIGNER_KEY)).to.deep.equal([]);
    expect(await token.heldInTokenProblems(KEK)).to.deep.equal([]);
  });

  it('pkcs11-tool (OpenSC) lists the keys as sensitive, never extractable, and shows private keys only after login', async () => {
    const base = ['--module', hsm.module, '--token-label', hsm.tokenLabel, '--list-objects'];
    const env = { ...process.env, ...hsm.env };
    const loggedIn = await run('pkcs11-tool', [...base, '--login', '--pin', hsm.userPin], { env });
    expect(loggedIn.code, loggedIn.stderr).to.equal(0);
    const objects = parseObjects(loggedIn.stdout);
    const privateKey = objects.find((o) => o.kind === 'Private Key' && o.label === SIGNER_KEY);
    const kek = objects.find((o) => o.kind === 'Secret Key' && o.label === KEK);
    expect(privateKey, loggedIn.stdout).to.not.equal(undefined);
    expect(kek, loggedIn.stdout).to.not.equal(undefined);
    for (const key of [privateKey!, kek!]) {
      expect(key.access, `${key.label}: ${key.access.join(', ')}`).to.include.members(['sensitive', 'always sensitive', 'never extractable', 'local']);
      expect(key.access, key.label).to.not.include('extractable');
    }
    expect(privateKey!.usage).to.deep.equal(['sign']);
    expect(kek!.usage.sort()).to.deep.equal(['unwrap', 'wrap']);
    // Without login the token shows only public objects: the private key and the KEK are private (CKA_PRIVATE).
    const anonymous = await run('pkcs11-tool', base, { env });
    expect(anonymous.code, anonymous.stderr).to.equal(0);
    const visible = parseObjects(anonymous.stdout);
    expect(visible.some((o) => o.kind === 'Public Key' && o.label === SIGNER_KEY), anonymous.stdout).to.equal(true);
    expect(visible.some((o) => o.kind !== 'Public Key'), anonymous.stdout).to.equal(false);
  });

  it('the keys are token objects: another process with the same SOFTHSM2_CONF finds the same public key', async () => {
    const script = `
      import { Pkcs11Token } from '@registo/hsm';
      const t = await Pkcs11Token.open({ module: process.env.T_MODULE, tokenLabel: process.env.T_LABEL, userPin: process.env.T_PIN });
      const k = await t.findEcKey(process.env.T_KEY);
      process.stdout.write(k.spki.toString('base64'));
      await t.close();`;
    const child = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: TEST_PACKAGE_DIR,
      env: { ...process.env, ...hsm.env, T_MODULE: hsm.module, T_LABEL: hsm.tokenLabel, T_PIN: hsm.userPin, T_KEY: SIGNER_KEY },
    });
    expect(child.code, child.stderr).to.equal(0);
    expect(child.stdout).to.equal((await token.ensureEcKey(SIGNER_KEY)).spki.toString('base64'));
  });

  it('Pkcs11KeyWrapper is RFC 3394 (CKM_AES_KEY_WRAP): the RFC 3394 §4.6 vector, and SoftwareKeyWrapper under the same KEK agrees', async () => {
    // RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
    const kekValue = Buffer.from('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', 'hex');
    const keyData = Buffer.from('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F', 'hex');
    const expected = Buffer.from('28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21', 'hex');
    const imported = (await token.findAesKey('rfc3394-kat')) ?? (await token.importAesKey('rfc3394-kat', kekValue));
    expect(imported.label).to.equal('rfc3394-kat');
    const hsmWrapper = await Pkcs11KeyWrapper.open(token, 'rfc3394-kat');
    expect((await hsmWrapper.wrap(keyData)).equals(expected)).to.equal(true);
    expect((await hsmWrapper.unwrap(expected)).equals(keyData)).to.equal(true);
    const software = new SoftwareKeyWrapper(kekValue, 'same-kek-in-software');
    const dataKey = randomBytes(32);
    expect((await software.unwrap(await hsmWrapper.wrap(dataKey))).equals(dataKey)).to.equal(true);
    expect((await hsmWrapper.unwrap(await software.wrap(dataKey))).equals(dataKey)).to.equal(true);
    // An imported key is not one that never left the token.
    expect((await token.heldInTokenProblems('rfc3394-kat')).join('; ')).to.match(/not generated inside the token/);
    const [attributes] = await token.keyAttributes('rfc3394-kat');
    expect(attributes).to.include({ local: false, extractable: false, sensitive: true });
  });

  it('a second open in the same process must know the PIN even while the token is logged in; closing one leaves the other working', async () => {
    const wrong = await refusal(Pkcs11Token.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: 'not-the-pin', env: hsm.env }));
    expect(wrong.code).to.equal('CONFIG_INVALID');
    expect(wrong.message).to.include('wrong user PIN').and.include(hsm.tokenLabel);
    const second = await openToken(hsm);
    await second.close();
    const signer = await Pkcs11Signer.open(token, SIGNER_KEY);
    const data = Buffer.from('still logged in');
    const spki = await signer.publicKeySpki();
    expect(verify('sha256', data, { key: createPublicKey({ key: spki, format: 'der', type: 'spki' }), dsaEncoding: 'der' }, await signer.sign(data))).to.equal(true);
  });

  it('a closed token refuses work with HSM_UNAVAILABLE', async () => {
    const t = await openToken(hsm);
    const signer = await Pkcs11Signer.open(t, SIGNER_KEY);
    await t.close();
    expect((await refusal(signer.sign(Buffer.from('late')))).code).to.equal('HSM_UNAVAILABLE');
  });

  it('measureSignRate signs with the signer it is given and reports a positive, finite rate for both signers', async () => {
    // How fast each signer is belongs to `registo bench issue` / `bench ocsp`; here only that
    // the figure comes from real signatures by that signer, and is a usable number.
    const counted = (signer: Signer): { signer: Signer; signatures: () => number } => {
      let n = 0;
      const wrapped: Signer = { mode: signer.mode, keyLabel: signer.keyLabel, publicKeySpki: () => signer.publicKeySpki(), sign: (d) => (n++, signer.sign(d)) };
      return { signer: wrapped, signatures: () => n };
    };
    for (const signer of [await Pkcs11Signer.open(token, SIGNER_KEY), SoftwareSigner.generate('rate')]) {
      const c = counted(signer);
      const rate = await measureSignRate(c.signer, 0.2);
      expect(rate).to.be.a('number').and.to.satisfy(Number.isFinite).and.to.be.greaterThan(0);
      expect(c.signatures(), 'a warm-up signature and at least one measured').to.be.at.least(2);
    }
  });
});

describe('openSigner and the signer configuration', () => {
  let hsm: TestSoftHsm;
  /** The environment of a qualified signer on the test token. */
  const qualifiedEnv = () => ({
    REGISTO_SIGNER_MODE: 'qualified',
    REGISTO_PKCS11_MODULE: hsm.module,
    REGISTO_PKCS11_TOKEN: hsm.tokenLabel,
    REGISTO_PKCS11_PIN: hsm.userPin,
    SOFTHSM2_CONF: hsm.conf,
  });
  before(async () => {
    hsm = await testSoftHsm();
    const token = await openToken(hsm);
    try {
      await token.ensureEcKey(SIGNER_KEY);
    } finally {
      await token.close();
    }
  });
  const pkcs11 = () => ({ module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env });

  it('qualified with a module path that does not exist → CONFIG_INVALID naming the path', async () => {
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: { ...pkcs11(), module: '/nonexistent/libpkcs11-missing.so' } }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include('/nonexistent/libpkcs11-missing.so');
  });

  it('qualified with a file that is not a PKCS#11 module → CONFIG_INVALID naming it', async () => {
    const notAModule = join(hsm.dir, 'softhsm2.conf');
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: { ...pkcs11(), module: notAModule } }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include(notAModule);
  });

  it('qualified with a token label that no token has → CONFIG_INVALID naming the label and the module', async () => {
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: { ...pkcs11(), tokenLabel: 'no-such-token' } }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include('no-such-token').and.include(hsm.module);
  });

  it('qualified with a wrong PIN → CONFIG_INVALID', async () => {
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: { ...pkcs11(), userPin: '0000-wrong' } }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include('wrong user PIN').and.include(hsm.tokenLabel);
  });

  it('qualified with a key the token does not hold → CONFIG_INVALID naming key and token; nothing is created', async () => {
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: 'never-generated', pkcs11: pkcs11() }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include('never-generated').and.include(hsm.tokenLabel);
    const token = await openToken(hsm);
    expect(await token.keyAttributes('never-generated')).to.deep.equal([]);
    await token.close();
  });

  it('qualified without PKCS#11 settings → CONFIG_INVALID naming the variables; no software fallback', async () => {
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include('REGISTO_PKCS11_MODULE').and.include('REGISTO_PKCS11_TOKEN').and.include('REGISTO_PKCS11_PIN');
  });

  it('qualified with a SOFTHSM2_CONF that does not exist → CONFIG_INVALID naming it', async () => {
    const error = await refusal(openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: { ...pkcs11(), env: { SOFTHSM2_CONF: '/nonexistent/softhsm2.conf' } } }));
    expect(error.code).to.equal('CONFIG_INVALID');
    expect(error.message).to.include('/nonexistent/softhsm2.conf');
  });

  it('qualified with everything in place → a Pkcs11Signer whose mode is qualified', async () => {
    const signer = await openSigner({ mode: 'qualified', keyLabel: SIGNER_KEY, pkcs11: pkcs11() });
    expect(signer).to.be.instanceOf(Pkcs11Signer);
    expect(signer.mode).to.equal('qualified');
    await signer.close?.();
  });

  it('non_qualified → a software signer labelled non_qualified, even when the PKCS#11 settings point nowhere', async () => {
    const signer: Signer = await openSigner({ mode: 'non_qualified', keyLabel: 'dev-signer', pkcs11: { module: '/nonexistent.so', tokenLabel: 'none', userPin: '0000' } });
    expect(signer).to.be.instanceOf(SoftwareSigner);
    expect(signer.mode).to.equal('non_qualified');
    expect(signer.keyLabel).to.equal('dev-signer');
  });

  it('loadSignerConfig: non_qualified by default; qualified requires module, token and PIN; the PIN is masked for printing', () => {
    expect(loadSignerConfig({})).to.deep.equal({ mode: 'non_qualified', pkcs11: null });
    const missing = (() => {
      try {
        loadSignerConfig({ REGISTO_SIGNER_MODE: 'qualified', REGISTO_PKCS11_MODULE: hsm.module });
      } catch (error) {
        return error as RegistoError;
      }
      return undefined;
    })();
    expect(missing?.code).to.equal('CONFIG_INVALID');
    expect(missing?.message).to.include('REGISTO_PKCS11_TOKEN').and.include('REGISTO_PKCS11_PIN').and.not.include('REGISTO_PKCS11_MODULE:');
    expect(() => loadSignerConfig({ REGISTO_SIGNER_MODE: 'hardware' })).to.throw(RegistoError, /REGISTO_SIGNER_MODE/);
    const config = loadSignerConfig(qualifiedEnv());
    expect(config).to.deep.equal({ mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: { SOFTHSM2_CONF: hsm.conf } } });
    expect(JSON.stringify(describeSignerConfig(config))).to.not.include(hsm.userPin);
  });

  it('a qualified signer from the environment signs with the key the token holds, not a software key', async () => {
    const config = loadSignerConfig(qualifiedEnv());
    const signer = await openSigner({ ...config, keyLabel: SIGNER_KEY });
    expect(signer).to.be.instanceOf(Pkcs11Signer);
    expect(signer.mode).to.equal('qualified');
    // The token's own key, read there directly: the same public key, and it checks the signature.
    const token = await openToken(hsm);
    let onToken: Buffer;
    try {
      onToken = await (await Pkcs11Signer.open(token, SIGNER_KEY)).publicKeySpki();
    } finally {
      await token.close();
    }
    expect((await signer.publicKeySpki()).equals(onToken)).to.equal(true);
    const data = Buffer.from('qualified');
    const key = createPublicKey({ key: onToken, format: 'der', type: 'spki' });
    expect(verify('sha256', data, { key, dsaEncoding: 'der' }, await signer.sign(data))).to.equal(true);
    await signer.close?.();
  });
});

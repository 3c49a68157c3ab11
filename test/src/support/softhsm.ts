import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSoftHsm, initToken } from '@registo/deploy';
import { embeddedStartEnv } from './platform-env.js';

export interface TestSoftHsm {
  /** libsofthsm2.so */
  module: string;
  /** The private softhsm2.conf (SOFTHSM2_CONF). */
  conf: string;
  /** The folder holding the configuration and the tokens; removed when the process exits. */
  dir: string;
  tokenLabel: string;
  soPin: string;
  userPin: string;
  /** `{ SOFTHSM2_CONF }` for Pkcs11Token.open and child processes. */
  env: { SOFTHSM2_CONF: string };
}

let shared: Promise<TestSoftHsm> | undefined;

/**
 * One SoftHSM2 token for the whole test process, in a temporary folder of its own: a PKCS#11
 * library is initialised once per process, with one SOFTHSM2_CONF, so every suite shares it.
 * Installs softhsm2 and opensc when they are missing.
 */
export function testSoftHsm(): Promise<TestSoftHsm> {
  shared ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registo-softhsm-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const hsm = await ensureSoftHsm({ dir, onProgress: (m) => process.stderr.write(`${m}\n`) });
    const token = await initToken({ label: 'registo-test', soPin: '87654321', userPin: '1234-test', conf: hsm.conf, module: hsm.module });
    return { module: token.module, conf: token.conf, dir, tokenLabel: token.label, soPin: '87654321', userPin: token.userPin, env: { SOFTHSM2_CONF: token.conf } };
  })();
  return shared;
}

/** The variables of a qualified signer on `hsm`'s token (or the token labelled `token`). */
export function qualifiedSignerEnv(hsm: TestSoftHsm, token = hsm.tokenLabel): NodeJS.ProcessEnv {
  return {
    REGISTO_SIGNER_MODE: 'qualified',
    REGISTO_PKCS11_MODULE: hsm.module,
    REGISTO_PKCS11_TOKEN: token,
    REGISTO_PKCS11_PIN: hsm.userPin,
    SOFTHSM2_CONF: hsm.conf,
  };
}

/**
 * `registo keys init` and `registo start` in qualified mode on `dataDir`: loopback, simulators on
 * free ports, and one public URL for the ceremony and the start (the start's port is any free one).
 */
export function qualifiedStartEnv(hsm: TestSoftHsm, dataDir: string, token = hsm.tokenLabel): NodeJS.ProcessEnv {
  return { ...embeddedStartEnv(dataDir), REGISTO_PUBLIC_URL: 'http://registo.test:8080', ...qualifiedSignerEnv(hsm, token) };
}

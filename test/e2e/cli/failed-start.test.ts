import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '@registo/cli';
import { createLogger } from '@registo/base';
import { openSqlDriver } from '@registo/event-store';
import { SubjectSealer } from '@registo/crypto';
import { Pkcs11Token } from '@registo/hsm';
import { loadConfig, loadPlatformKeys } from '@registo/config';
import { isRegistoError } from '@registo/schemas';
import { qualifiedSignerEnv, testSoftHsm } from '../../src/support/softhsm.js';
import { until } from '../../src/support/until.js';
import { runCli } from './run-cli.js';

/** How many of each kind of handle (timer, socket, server, file request) the process holds. */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** The kinds the process holds more of than it did before: what a start-up left open. */
function beyond(baseline: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...handles()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => [kind, n - (baseline.get(kind) ?? 0)]));
}

function occupiedPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

/** Starts the platform and expects it to refuse with `code`; then nothing it opened may be left: no worker, timer, socket, server or token session. */
async function expectFailedStartLeavesNothing(env: NodeJS.ProcessEnv, code: string): Promise<void> {
  // After a turn of the event loop: mocha arms the test's own timeout once the test has begun.
  await new Promise((resolve) => setImmediate(resolve));
  const baseline = handles();
  const error = await startPlatform(loadConfig(env), createLogger('silent')).then(
    (p) => p.close().then(() => expect.fail('the platform started')),
    (e: unknown) => e,
  );
  expect(isRegistoError(error) ? error.code : (error as { code?: string }).code, String(error)).to.equal(code);
  expect(Pkcs11Token.openCount(), 'PKCS#11 token sessions left open').to.equal(0);
  // Sockets a closed server ended may take a moment to be reported gone.
  await until('the handles of the failed start to be released', async () => Object.keys(beyond(baseline)).length === 0, 10_000).catch(() => undefined);
  expect(beyond(baseline), 'handles left open by the failed start').to.deep.equal({});
}

/** The same data directory starts again: the store and its lock (and the simulators' state lock) were released. */
async function expectStartsAgain(env: NodeJS.ProcessEnv): Promise<void> {
  const platform = await startPlatform(loadConfig({ ...env, PORT: '0' }), createLogger('silent'));
  await platform.close();
  expect(Pkcs11Token.openCount()).to.equal(0);
}

/** Personal data sealed under a data key the key file's KEK wraps, as an enrollment would leave it. */
async function sealOneSubject(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  if (config.eventStore.kind === 'eventstoredb') throw new Error('a SQL store is needed');
  const keys = await loadPlatformKeys(config.keysFile);
  const driver = await openSqlDriver(config.eventStore);
  try {
    await (await SubjectSealer.open(driver, keys.keyWrapper)).seal('subject-failed-start', { name: 'sealed under the first key file' });
  } finally {
    await driver.close();
  }
}

describe('a start-up that fails at a late step releases everything it had opened', function () {
  this.timeout(180_000);

  const embedded = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    REGISTO_DATA_DIR: mkdtempSync(join(tmpdir(), 'registo-failed-start-')),
    HOST: '127.0.0.1',
    PORT: '0',
    // Fixed, so that a start on another port finds the certificates naming the same URL.
    REGISTO_PUBLIC_URL: 'http://registo.test:8080',
    REGISTO_SIGA_PORT: '0',
    REGISTO_IMMIGRATION_PORT: '0',
    REGISTO_ABIS_PORT: '0',
    ...extra,
  });

  it('the API port taken: every role, the simulators, the store and its lock are released', async () => {
    const { server, port } = await occupiedPort();
    const env = embedded();
    try {
      await expectFailedStartLeavesNothing({ ...env, PORT: String(port) }, 'EADDRINUSE');
    } finally {
      server.close();
    }
    await expectStartsAgain(env);
  });

  it('another key file than the one that sealed the stored data: KEK_MISMATCH, the store released', async () => {
    const env = embedded();
    await expectStartsAgain(env);
    await sealOneSubject(env);
    await expectFailedStartLeavesNothing({ ...env, REGISTO_KEYS_FILE: join(mkdtempSync(join(tmpdir(), 'registo-other-keys-')), 'keys.json') }, 'KEK_MISMATCH');
    await expectStartsAgain(env);
  });

  it('a role whose external systems are missing is refused before anything starts', async () => {
    const env = embedded({ REGISTO_SIMULATORS: 'off', REGISTO_ROLES: 'projector,checkpointer,process' });
    await expectFailedStartLeavesNothing(env, 'CONFIG_INVALID');
    await expectStartsAgain({ ...env, REGISTO_ROLES: 'projector,checkpointer' });
  });

  describe('qualified (SoftHSM2)', () => {
    const qualified = async (token?: string): Promise<NodeJS.ProcessEnv> => {
      const hsm = await testSoftHsm();
      return embedded(qualifiedSignerEnv(hsm, token));
    };

    it('a missing token: refused, no session left', async () => {
      await expectFailedStartLeavesNothing(await qualified('no-such-token'), 'CONFIG_INVALID');
    });

    it('the API port taken after the KEK, the hierarchy and the identity keys opened on the token: every session closed', async () => {
      const env = await qualified();
      const ceremony = await runCli(['keys', 'init'], env);
      expect(ceremony.code, ceremony.stderr).to.equal(0);
      const { server, port } = await occupiedPort();
      try {
        await expectFailedStartLeavesNothing({ ...env, PORT: String(port) }, 'EADDRINUSE');
      } finally {
        server.close();
      }
      await expectStartsAgain(env);
    });
  });
});

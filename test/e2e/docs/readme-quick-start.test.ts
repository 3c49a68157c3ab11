import { expect } from 'chai';
import { commandsOf, onPort, shellBlocks } from '../../src/index.js';
import { DocumentedPlatform, README, newcomerCheckout, readerEnv, tryCommand } from '../../src/support/readme-platform.js';

describe("README: the quick start and \"Try it\", as written, on ports other than the defaults", function () {
  this.timeout(600_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let platform: DocumentedPlatform | undefined;

  before(async () => {
    dir = newcomerCheckout();
    // Another Registo holds the default ports on this machine: only the port variables change.
    env = await readerEnv();
  });
  after(() => platform?.kill());

  it('npm start runs the platform; every "Try it" command works beside it and shows what the README says', async () => {
    const [quickStart] = shellBlocks(README, 'Quick start');
    const [startCommand] = commandsOf(quickStart!);
    // `npm ci` is what the suite's own install just did; the platform part runs as written.
    expect(startCommand).to.equal('npm ci && npm start');
    platform = new DocumentedPlatform(dir, env);
    await platform.start('npm start');

    const [tryIt] = shellBlocks(README, 'Try it');
    const commands = commandsOf(tryIt!);
    expect(commands.length, 'commands in "Try it"').to.be.greaterThan(5);
    for (const documented of commands) await tryCommand(documented, onPort(documented, Number(env.PORT)), dir, env);

    await platform.stop();
  });
});

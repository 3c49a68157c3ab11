import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { simulatorOptionsFrom } from '../src/main.js';

// dist/test → the package root, where bin/ lives.
const binPath = fileURLToPath(new URL('../../bin/simulators.js', import.meta.url));

describe('simulators command', () => {
  it('takes ports from flags first, then the environment, then 8091/8092', () => {
    expect(simulatorOptionsFrom([], {})).to.include({ sigaPort: 8091, immigrationPort: 8092, host: '127.0.0.1' });
    expect(simulatorOptionsFrom([], { REGISTO_SIGA_PORT: '9001', REGISTO_IMMIGRATION_PORT: '9002' })).to.include({
      sigaPort: 9001,
      immigrationPort: 9002,
    });
    expect(simulatorOptionsFrom(['--siga-port', '7001', '--immigration-port=7002'], { REGISTO_SIGA_PORT: '9001' })).to.include({
      sigaPort: 7001,
      immigrationPort: 7002,
    });
    expect(() => simulatorOptionsFrom(['--siga-port', 'abc'], {})).to.throw(/port/);
  });

  it('keeps state only when given a state directory (flag first, then REGISTO_SIMULATOR_STATE_DIR)', () => {
    expect(simulatorOptionsFrom([], {})).not.to.have.property('stateDir');
    expect(simulatorOptionsFrom([], { REGISTO_SIMULATOR_STATE_DIR: '/var/lib/sims' })).to.include({ stateDir: '/var/lib/sims' });
    expect(simulatorOptionsFrom(['--state-dir', './state'], { REGISTO_SIMULATOR_STATE_DIR: '/var/lib/sims' })).to.include({ stateDir: './state' });
  });

  it('starts both simulators, says where they listen, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [binPath, '--siga-port', '0', '--immigration-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 15_000;
      while (!/Immigration simulator listening on/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const sigaUrl = /SIGA simulator listening on (\S+)/.exec(output)?.[1];
      const immigrationUrl = /Immigration simulator listening on (\S+)/.exec(output)?.[1];
      expect(sigaUrl, output).to.be.a('string');
      expect((await fetch(`${sigaUrl}/health`)).status).to.equal(200);
      expect((await fetch(`${immigrationUrl}/health`)).status).to.equal(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
  });
});

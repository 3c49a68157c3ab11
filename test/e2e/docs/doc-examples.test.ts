import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handPlaceholder, runInOneShell, shellExamples } from '../../src/index.js';

/** What the guide tests rely on when they read and run a guide's examples. */
describe('doc-examples: reading and running a guide\'s shell examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'registo-doc-examples-'));

  it('finds every sh block with its heading and the reason a block is not run; output blocks are not examples', () => {
    const guide = join(dir, 'guide.md');
    writeFileSync(
      guide,
      ['# Guide', '', '```sh', 'echo one   # a comment', 'curl -s \\', '  localhost:8080/x', '```', '', '```text', 'shown output', '```', '', '## Later', '', '<!-- not run: needs a file -->', '', '```sh', 'cat missing.txt', '```', ''].join('\n'),
    );
    expect(shellExamples(guide)).to.deep.equal([
      { heading: 'Guide', line: 3, commands: ['echo one', 'curl -s localhost:8080/x'] },
      { heading: 'Later', line: 17, commands: ['cat missing.txt'], notRun: 'needs a file' },
    ]);
  });

  it('names a placeholder left to fill by hand, not a redirection or a shell variable', () => {
    expect(handPlaceholder('curl localhost:8080/v1/adjudications/<id>/decision')).to.equal('<id>');
    expect(handPlaceholder('openssl ts -verify < token.der')).to.equal(undefined);
    expect(handPlaceholder('curl localhost:8080/v1/adjudications/$ID/decision')).to.equal(undefined);
  });

  it('runs the commands in one shell: variables carry over, each command has its own output and exit code, an early exit is the command it stopped in', async () => {
    const results = await runInOneShell(['X=$(echo hi)', 'echo "$X"', 'printf no-newline', 'echo oops >&2; false', 'echo last; exit 3', 'echo never'], { cwd: dir, env: process.env, timeoutMs: 10_000 });
    expect(results).to.deep.equal([
      { code: 0, stdout: '', stderr: '' },
      { code: 0, stdout: 'hi\n', stderr: '' },
      { code: 0, stdout: 'no-newline', stderr: '' },
      { code: 1, stdout: '', stderr: 'oops\n' },
      { code: 3, stdout: 'last\n', stderr: '' },
    ]);
  });
});

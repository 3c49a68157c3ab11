import { expect } from 'chai';
import { join } from 'node:path';
import { type Expectation, type GuidePlatform, repo, runGuide, startGuidePlatform } from './guide-shell.js';

const guide = join(repo, 'docs', 'sync.md');

interface Report {
  totals: { pending: number; failed: number; deadLettered: number };
  succeeded: Array<{ operation: string; uin: string }>;
}

/**
 * docs/sync.md, every shell example in order (reconciliation, a resolved mismatch, a webhook,
 * a dead letter and its redrive), as written apart from the port variables, against
 * `registo start` after the demo.
 */
describe('docs/sync.md: every shell example, as written, against a running platform', function () {
  this.timeout(600_000);
  let platform: GuidePlatform | undefined;

  after(async () => platform?.stop());

  it('each command exits 0 and shows what the guide says it shows', async () => {
    // The short retry schedule the guide names, so the dead letter comes within a second.
    platform = await startGuidePlatform('registo-sync-doc-', { REGISTO_SYNC_RETRY_DELAYS_MS: '200,200' });
    const { shell, url } = platform;
    const demo = await shell.run('npx registo demo --enrollments 10');
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).to.equal(0);
    // As the guide asks before its first command: the demo's syncs landed, three citizens at SIGA.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = (await (await fetch(`${url}/v1/sync/report?system=siga`, { headers: { authorization: 'Bearer dev-operator' } })).json()) as Report;
      if (r.totals.pending === 0 && r.totals.failed === 0 && r.succeeded.filter((s) => s.operation === 'ENROLLED').length >= 3) break;
      if (Date.now() > deadline) throw new Error(`the demo's SIGA syncs did not land: ${JSON.stringify(r.totals)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const value = async (name: string): Promise<string> => (await shell.run(`printf %s "$${name}"`)).stdout;
    const quiet: Expectation = (out) => expect(out).to.equal('');

    const expected: Array<[RegExp, Expectation]> = [
      [/^[A-Z]+=('[^']*'|\S+)$/, quiet],
      [/^read -r U D K /, quiet],
      [/^echo "\$U \$D \$K"/, (out) => expect(out.trim()).to.match(/^\d{6,} \d{6,} \d{6,}$/)],
      [/^npx registo reconcile run --system siga$/, (out, nth) =>
        expect(out).to.match(nth === 0 ? /^reconciled SIGA: \d+ identities, \d+ external records, 0 difference\(s\), 0 newly recorded/ : /^reconciled SIGA: .* 1 difference\(s\), 1 newly recorded/)],
      [/_admin\/records\/\$U .*jq -r \.surname$/, (out) => expect(out.trim()).to.equal('Otherwise')],
      [/^(M|BODY|SIG)=/, quiet],
      [/mismatches\/\$M\/resolve .*ACCEPT_REGISTER.*jq -r \.status$/, async (out) => {
        expect(await value('M'), 'the mismatch the report lists').to.match(/\S/);
        expect(out.trim()).to.equal('PENDING');
      }],
      [/^until /, quiet],
      [/v1\/exports\/identities .*\.surname'$/, (out) => expect(out.trim()).to.match(/\S/).and.not.equal('Otherwise')],
      [/webhooks\/siga .*"x-registo-signature: \$SIG" -d "\$BODY"$/, (out) => expect(JSON.parse(out)).to.deep.equal({ changeId: 'siga-by-hand-1', outcome: 'STATUS_CHANGED' })],
      [/webhooks\/siga .*"x-registo-signature: \$SIG" .*jq -r \.outcome$/, (out) => expect(out.trim()).to.equal('ALREADY_APPLIED')],
      [/webhooks\/siga .*sha256=00.*jq -r \.code$/, (out) => expect(out.trim()).to.equal('WEBHOOK_SIGNATURE_INVALID')],
      [/_admin\/faults .*errorRate":1.*jq -r \.errorRate$/, (out) => expect(out.trim()).to.equal('1')],
      [/identities\/\$K\/status .*BLOCKED.*jq -r \.status$/, (out) => expect(out.trim()).to.equal('BLOCKED')],
      [/jq -r '\.deadLettered\[\]/, async (out) => expect(out.trim()).to.match(new RegExp(`^${await value('K')} \\S+ EXTERNAL_UNAVAILABLE$`))],
      [/-X DELETE \$S\/_admin\/faults /, (out) => expect(out.trim()).to.equal('200')],
      [/^npx registo sync redrive --system siga$/, (out) => expect(out).to.match(/^redriven 1 sync\(s\) \(redrive \S+\)/)],
      [/select\(\.uin == \$k and \.redrives > 0\)/, (out) => expect(out.trim()).to.match(/^\S+ 1$/)],
    ];
    const { commands, skipped } = await runGuide(guide, shell, platform.ports, expected);
    expect(commands).to.be.greaterThan(20);
    console.log(`      ran ${commands} commands of docs/sync.md; not run: ${skipped.length === 0 ? 'none' : skipped.join('; ')}`);
  });
});

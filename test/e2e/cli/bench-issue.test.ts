import { expect } from 'chai';
import { runCli } from './run-cli.js';

interface Report {
  bench: string;
  keys: string;
  results: { metric: string; value: number; unit: string; baseline: { metric: string; value: number }; ratio: number }[];
}

describe('registo bench issue --json', function () {
  this.timeout(180_000);

  it('prints one JSON report as its last line: the headline first, each beside a baseline of the same run, and which keys signed', async () => {
    const r = await runCli(['bench', 'issue', '--json', '--software', '--certificates', '400', '--generic-certificates', '40', '--csrs', '40', '--sign-seconds', '1', '--rounds', '2']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]!) as Report;
    expect(report.bench).to.equal('issue');
    expect(report.keys).to.match(/software keys/);
    expect(report.results.map((m) => m.metric)).to.deep.equal(['holder_certificates_per_second', 'generic_issue_per_second', 'template_vs_generic', 'holder_certificates_per_cpu_second']);
    for (const m of report.results) {
      expect(m.value, m.metric).to.be.above(0);
      expect(m.baseline.value, m.metric).to.be.above(0);
      expect(m.ratio, m.metric).to.be.closeTo(m.value / m.baseline.value, 0.01 + m.ratio * 0.01);
    }
    expect(report.results[0]!.baseline.metric).to.equal('raw_sign_per_second_software');
    expect(r.stderr).to.match(/keys: software keys/);
  });
});

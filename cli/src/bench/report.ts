import { cpus, totalmem } from 'node:os';
import { SingleBar, Presets } from 'cli-progress';

export interface BenchMetric {
  metric: string;
  value: number;
  unit: string;
  baseline: { metric: string; value: number };
  /** value / baseline.value */
  ratio: number;
}

export interface BenchReport {
  bench: string;
  results: BenchMetric[];
}

export function metric(metric: string, value: number, unit: string, baselineMetric: string, baselineValue: number): BenchMetric {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    metric,
    value: round(value),
    unit,
    baseline: { metric: baselineMetric, value: round(baselineValue) },
    ratio: baselineValue === 0 ? 0 : round(value / baselineValue),
  };
}

/** `<name>_p50_ms` and `<name>_p99_ms` of `samples`, each beside the same percentile of `baselineSamples`. */
export function latencyMetrics(name: string, samples: number[], baselineName: string, baselineSamples: number[]): BenchMetric[] {
  return [50, 99].map((p) => metric(`${name}_p${p}_ms`, percentile(samples, p), 'ms', `${baselineName}_p${p}_ms`, percentile(baselineSamples, p)));
}

/** Nearest-rank percentile of latencies in milliseconds. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Human lines go to stderr; the last line of stdout is the JSON report (with --json). */
export function printReport(report: BenchReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  process.stdout.write(`bench ${report.bench} on ${machine()}\n`);
  for (const r of report.results) {
    process.stdout.write(
      `  ${r.metric.padEnd(34)} ${String(r.value).padStart(12)} ${r.unit.padEnd(9)}  baseline ${r.baseline.metric} ${r.baseline.value}  ratio ${r.ratio}\n`,
    );
  }
}

export function progress(label: string, total: number): { tick(n?: number): void; stop(): void } {
  if (!process.stderr.isTTY) {
    process.stderr.write(`${label}: ${total}\n`);
    return { tick: () => undefined, stop: () => undefined };
  }
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} {eta_formatted}`, stream: process.stderr }, Presets.shades_classic);
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}

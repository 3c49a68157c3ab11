import type { Command } from 'commander';
import { kafkaSettings } from '@registo/messaging';
import { benchAppend } from '../bench/append.js';
import { benchMirror } from '../bench/mirror.js';
import { benchEnroll } from '../bench/enroll.js';
import { benchSync } from '../bench/sync.js';
import { benchIssue } from '../bench/issue.js';
import { benchCredentials } from '../bench/credentials.js';
import { printReport } from '../bench/report.js';
import { benchAudit } from '../bench/audit.js';
import { benchOcsp } from '../bench/ocsp.js';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`expected a positive whole number, got '${v}'`);
  return n;
}

/** The options every benchmark shares: the report format and the PostgreSQL server to use. */
function benchCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .option('--json', 'print the report as one JSON line')
    .option('--database-url <url>', 'PostgreSQL server to create a throw-away database on (env DATABASE_URL)', process.env.DATABASE_URL ?? DEFAULT_ADMIN_URL);
}

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('measure a capability against a baseline taken in the same run; with --json the last stdout line is the report');
  addAppend(bench);
  addMirror(bench);
  addEnroll(bench);
  addAudit(bench);
  addIssue(bench);
  addOcsp(bench);
  addCredentials(bench);
  addSync(bench);
}

function addAppend(bench: Command): void {
  benchCommand(bench, 'append', 'event store appends on PostgreSQL: 100-event batches and concurrent single events, beside plain INSERTs of the same payloads')
    .option('--batched-events <n>', 'events written in 100-event appends', int, 100_000)
    .option('--batched-writers <n>', 'concurrent writers of 100-event appends', int, 4)
    .option('--single-events <n>', 'events written one per append', int, 20_000)
    .option('--single-writers <n>', 'concurrent writers of single events', int, 32)
    .action(async (o: { json?: boolean; databaseUrl: string; batchedEvents: number; batchedWriters: number; singleEvents: number; singleWriters: number }) => {
      const report = await benchAppend({
        adminUrl: o.databaseUrl,
        batchedEvents: o.batchedEvents,
        batchedWriters: o.batchedWriters,
        singleEvents: o.singleEvents,
        singleWriters: o.singleWriters,
      });
      printReport(report, o.json === true);
    });
}

function addMirror(bench: Command): void {
  benchCommand(bench, 'mirror', 'events/s mirrored store → Kafka (committed), and append-to-visible latency at a steady rate, beside a plain kafkajs producer')
    .option('--events <n>', 'events in the throughput run', int, 100_000)
    .option('--rate <n>', 'events/s in the latency run', int, 2000)
    .option('--seconds <n>', 'length of the latency run', int, 10)
    .addHelpText('after', '\nBrings up the local Kafka and registry first (registo infra up); uses KAFKA_BROKERS / SCHEMA_REGISTRY_URL if set.')
    .action(async (o: { json?: boolean; databaseUrl: string; events: number; rate: number; seconds: number }) => {
      const report = await benchMirror({ adminUrl: o.databaseUrl, settings: kafkaSettings(), events: o.events, rate: o.rate, seconds: o.seconds });
      printReport(report, o.json === true);
    });
}

function addEnroll(bench: Command): void {
  benchCommand(bench, 'enroll', 'enrollments/s from packet upload to identity created, and upload→identity p50/p99, with all real components and simulators, beside the store\'s own append rate for the same number of events')
    .option('--enrollments <n>', 'clean packets to enrol', int, 2000)
    .option('--concurrency <n>', 'uploads in flight', int, 32)
    .option('--transport <kind>', 'consumers read Kafka topics (kafka) or the store subscription (store)', 'kafka')
    .option('--foreigners <share>', 'share of foreigners (checked with Immigration)', Number, 0.15)
    .option('--rate <n>', 'pace uploads at n packets/s (latency below saturation); default: as fast as --concurrency allows', int)
    .addHelpText('after', '\nStarts the whole platform in this process on a throw-away database: intake, mirror, process, projector, SIGA/Immigration/ABIS simulators.\nThe baseline appends the same number of events the run wrote, one per append, 32 writers, and is shown in enrollments/s (÷ events per enrollment).')
    .action(async (o: { json?: boolean; databaseUrl: string; enrollments: number; concurrency: number; transport: string; foreigners: number; rate?: number }) => {
      if (o.transport !== 'kafka' && o.transport !== 'store') throw new Error('--transport is kafka or store');
      const report = await benchEnroll({
        adminUrl: o.databaseUrl,
        enrollments: o.enrollments,
        concurrency: o.concurrency,
        transport: o.transport,
        settings: kafkaSettings(),
        share: { foreigners: o.foreigners },
        ...(o.rate && { rate: o.rate }),
      });
      printReport(report, o.json === true);
    });
}

function addAudit(bench: Command): void {
  benchCommand(bench, 'audit', 'events/s that `audit verify` checks over a synthetic export, beside raw SHA-256 of the same lines; inclusion-proof latency from the SQL tree; event → checkpoint latency at a steady load')
    .option('--events <n>', 'events in the synthetic export (a checkpoint every 10,000)', int, 1_000_000)
    .option('--proofs <n>', 'inclusion proofs timed at that size', int, 2000)
    .option('--load-seconds <n>', 'length of the steady-load run', int, 10)
    .option('--load-rate <n>', 'events/s in the steady-load run', int, 200)
    .addHelpText('after', '\nThe export is synthesised in the bench (not through the store), verified with every timestamp checked; the tree is then written to a throw-away PostgreSQL database for the proofs.')
    .action(async (o: { json?: boolean; databaseUrl: string; events: number; proofs: number; loadSeconds: number; loadRate: number }) => {
      const report = await benchAudit({ adminUrl: o.databaseUrl, events: o.events, proofs: o.proofs, loadSeconds: o.loadSeconds, loadRate: o.loadRate });
      printReport(report, o.json === true);
    });
}

function addIssue(bench: Command): void {
  bench
    .command('issue')
    .description('holder certificates/s from CSRs (proof of possession checked, template encoder), beside the raw ECDSA sign rate of the same CA key in the same run and the generic issueCertificate path')
    .option('--json', 'print the report as one JSON line')
    .option('--certificates <n>', 'certificates issued by the template issuer', int, 30_000)
    .option('--generic-certificates <n>', 'certificates issued by the generic path', int, 3000)
    .option('--csrs <n>', 'distinct holder keys / CSRs prepared beforehand and cycled through', int, 2000)
    .option('--concurrency <n>', 'issuances in flight', int, 64)
    .option('--sessions <n>', 'PKCS#11 sessions signing at once (qualified)', int, 2)
    .option('--csr-workers <n>', 'worker threads checking CSRs (0: on the main thread; default: CPUs, at most 2)', (v: string) => (v === '0' ? 0 : int(v)))
    .option('--sign-seconds <n>', 'length of the raw sign-rate run, in all', int, 5)
    .option('--rounds <n>', 'slices of raw signing and issuance, alternated so both meet the same background load', int, 5)
    .option('--software', 'measure with software keys even when a SoftHSM2 token could be set up')
    .addHelpText('after', '\nKeys: the configured token when REGISTO_SIGNER_MODE=qualified and REGISTO_PKCS11_* are set; else a SoftHSM2 token set up in a temporary folder (SoftHSM2 installed if missing); else software keys. The report says which ("keys").')
    .action(async (o: { json?: boolean; certificates: number; genericCertificates: number; csrs: number; concurrency: number; sessions: number; csrWorkers?: number; signSeconds: number; rounds: number; software?: boolean }) => {
      const report = await benchIssue({ ...o, software: o.software === true });
      if (!o.json) process.stdout.write(`keys: ${report.keys}\n`);
      printReport(report, o.json === true);
    });
}

function addOcsp(bench: Command): void {
  bench
    .command('ocsp')
    .description('OCSP requests/s and p99 over HTTP (server in a child process): without a nonce (POST, GET) beside the same server answering a fixed body, with a nonce beside the OCSP signer\'s raw signing rate')
    .option('--json', 'print the report as one JSON line')
    .option('--concurrency <n>', 'connections kept busy', int, 64)
    .option('--seconds <n>', 'length of each measured run', int, 10)
    .option('--serials <n>', 'certificates asked about (a tenth revoked, 2% unknown on top)', int, 1000)
    .addHelpText('after', '\nNeeds no database or Kafka: software keys in a temporary folder and an in-memory status source.')
    .action(async (o: { json?: boolean; concurrency: number; seconds: number; serials: number }) => {
      printReport(await benchOcsp({ concurrency: o.concurrency, seconds: o.seconds, serials: o.serials }), o.json === true);
    });
}

function addCredentials(bench: Command): void {
  benchCommand(bench, 'credentials', 'national-ID VCs issued per second from identity events on PostgreSQL (open, allocate, sign ES256, seal, append), beside the raw signRaw rate of the same key')
    .option('--identities <n>', 'identities to issue a VC for', int, 2000)
    .option('--concurrency <n>', 'issuances in flight', int, 16)
    .option('--sign-seconds <n>', 'seconds of raw signing for the baseline', int, 3)
    .action(async (o: { json?: boolean; databaseUrl: string; identities: number; concurrency: number; signSeconds: number }) => {
      printReport(await benchCredentials({ adminUrl: o.databaseUrl, identities: o.identities, concurrency: o.concurrency, signSeconds: o.signSeconds }), o.json === true);
    });
}

function addSync(bench: Command): void {
  benchCommand(bench, 'sync', 'syncs/s from identity created to SIGA\'s confirmation recorded, through the mirror, Kafka and the sync consumer, against a SIGA simulator with fixed latency, beside the simulator\'s own capacity measured in the same run')
    .option('--syncs <n>', 'identities to sync', int, 1000)
    .option('--latency-ms <n>', 'the simulator\'s answer time', int, 20)
    .option('--transport <kind>', 'the sync consumer reads Kafka topics (kafka) or the store subscription (store)', 'kafka')
    .addHelpText('after', '\nThe baseline is the same simulator called directly with as many updates in flight as the consumer can have (partitions × 8 identities at once on Kafka, 16 on the store).')
    .action(async (o: { json?: boolean; databaseUrl: string; syncs: number; latencyMs: number; transport: string }) => {
      if (o.transport !== 'kafka' && o.transport !== 'store') throw new Error('--transport is kafka or store');
      const report = await benchSync({ adminUrl: o.databaseUrl, settings: kafkaSettings(), syncs: o.syncs, latencyMs: o.latencyMs, transport: o.transport });
      printReport(report, o.json === true);
    });
}

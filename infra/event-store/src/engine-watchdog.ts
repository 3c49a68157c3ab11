import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** EX_TEMPFAIL: the embedded engine is lost, its data is on disk, a restart recovers. */
export const ENGINE_LOST_EXIT_CODE = 75;

/** Ends the process at once with a line saying why: nothing more may be asked of a lost engine. */
export function exitEngineLost(reason: string): never {
  writeSync(2, `registo: ${reason}; exiting with code ${ENGINE_LOST_EXIT_CODE} so that a supervisor restarts it (what was accepted is on disk)\n`);
  process.exit(ENGINE_LOST_EXIT_CODE);
}

/**
 * Runs in its own thread, so it keeps running while the main thread is stuck. It cannot end
 * the process with an exit code from here (process.exit ends only this thread), so it asks
 * the main thread through the inspector, whose messages V8 runs even inside a busy loop of
 * WebAssembly; if that is not possible, SIGKILL.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const cells = new BigInt64Array(workerData.shared);
const timer = setInterval(() => {
  const blockedMs = Date.now() - Number(Atomics.load(cells, 0));
  if (Atomics.load(cells, 1) === 0n || blockedMs < workerData.stallMs) return;
  clearInterval(timer);
  writeSync(2, 'registo: the embedded database has not answered for ' + Math.round(blockedMs / 1000) + ' s and holds the event loop (' + workerData.what + '); exiting with code ${ENGINE_LOST_EXIT_CODE} so that a supervisor restarts it (what was accepted is on disk)\\n');
  const kill = () => process.kill(process.pid, 'SIGKILL');
  setTimeout(kill, 3000);
  // Connected only now: a session left connected would make every exit print "Waiting for the debugger".
  let session;
  try {
    session = new (require('node:inspector').Session)();
    session.connectToMainThread();
  } catch {
    session = undefined;
  }
  if (session) session.post('Runtime.evaluate', { expression: 'process.exit(${ENGINE_LOST_EXIT_CODE})' }, kill);
  else kill();
}, Math.max(50, Math.min(1000, Math.floor(workerData.stallMs / 4))));
`;

/**
 * The backstop for an embedded engine that hangs synchronously (PGlite spinning on a WAL
 * segment it cannot create, sometimes without raising anything): a JS catch never runs then,
 * nor /healthz. The main thread beats a shared clock; while a database call is under way and
 * the clock stops for `stallMs`, the watchdog thread ends the process with exit code 75.
 */
export class EngineWatchdog {
  private readonly beat: NodeJS.Timeout;
  private inFlight = 0;

  /** `cells` [0]: the main thread's last beat (ms); [1]: database calls under way. */
  private constructor(
    private readonly worker: Worker,
    private readonly cells: BigInt64Array,
  ) {
    this.touch();
    this.beat = setInterval(() => this.touch(), 100);
    this.beat.unref();
  }

  static async start(options: { stallMs: number; what: string }): Promise<EngineWatchdog> {
    const shared = new SharedArrayBuffer(16);
    // No execArgv: the source is CommonJS whatever flags (--input-type=module) the process runs with.
    const worker = new Worker(WATCHDOG_SOURCE, { eval: true, execArgv: [], workerData: { shared, stallMs: options.stallMs, what: options.what } });
    const dog = new EngineWatchdog(worker, new BigInt64Array(shared));
    // Only once its thread runs does it watch; it must never keep the process alive by itself.
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    worker.on('error', (e) => writeSync(2, `registo: the embedded database watchdog stopped (${e.message})\n`));
    worker.unref();
    return dog;
  }

  private touch(): void {
    Atomics.store(this.cells, 0, BigInt(Date.now()));
  }

  /** Runs one database call under watch. */
  async watch<T>(call: () => Promise<T>): Promise<T> {
    this.touch();
    Atomics.store(this.cells, 1, BigInt(++this.inFlight));
    try {
      return await call();
    } finally {
      Atomics.store(this.cells, 1, BigInt(--this.inFlight));
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.beat);
    await this.worker.terminate();
  }
}

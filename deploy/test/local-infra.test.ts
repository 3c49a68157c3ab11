import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infraDown, infraStatus, infraUp, type ComponentStatus, type InfraOptions } from '../src/index.js';

// Integration test: really fetches (first run only, into ~/.cache/registo or $REGISTO_CACHE_DIR) and starts
// Kafka + Apicurio Registry on non-default ports, so it can run next to a developer's own `registo infra up`.

const HOST = '127.0.0.1';
const PORTS = { kafkaPort: 19092, kafkaControllerPort: 19093, registryPort: 18081, registryManagementPort: 19081 };

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function byName(components: ComponentStatus[], name: string): ComponentStatus {
  const found = components.find((c) => c.name === name);
  if (!found) throw new Error(`no status for ${name}`);
  return found;
}

describe('local infra: Kafka + Apicurio Registry', function () {
  this.timeout(30 * 60_000); // the very first run downloads ~200 MB through Maven

  let stateDir: string;
  let options: InfraOptions;
  const pids: Record<string, number> = {};

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'registo-infra-test-'));
    options = { stateDir, ...PORTS, onProgress: (line) => console.log(`      · ${line}`) };
  });

  after(async () => {
    if (options) await infraDown(options).catch(() => undefined);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('infraUp() fetches if needed, starts both and waits until they answer', async () => {
    const result = await infraUp(options);
    expect(result.started).to.have.members(['kafka', 'registry']);
    expect(result.alreadyRunning).to.deep.equal([]);
    for (const c of result.components) {
      expect(c.running, `${c.name} running`).to.equal(true);
      expect(c.ready, `${c.name} ready`).to.equal(true);
      pids[c.name] = c.pid as number;
    }
  });

  it('infraStatus() reports both running with pid, address, log file and version', async () => {
    const status = await infraStatus(options);
    expect(status.stateDir).to.equal(stateDir);
    const kafka = byName(status.components, 'kafka');
    const registry = byName(status.components, 'registry');
    expect(kafka).to.include({ running: true, ready: true, pid: pids.kafka, address: `${HOST}:19092` });
    expect(registry).to.include({ running: true, ready: true, pid: pids.registry, address: `http://${HOST}:18081` });
    expect(kafka.version).to.match(/^3\.9\.\d+$/);
    expect(registry.version).to.match(/^3\.\d+\.\d+$/);
    expect(kafka.logFile).to.equal(join(stateDir, 'logs', 'kafka.log'));
    expect(existsSync(kafka.logFile)).to.equal(true);
    expect(existsSync(registry.logFile)).to.equal(true);
    expect(existsSync(join(stateDir, 'kafka.pid'))).to.equal(true);
    expect(existsSync(join(stateDir, 'registry.pid'))).to.equal(true);
  });

  it('the registry answers the Confluent-compatible API with an empty subject list', async () => {
    const res = await fetch(`http://${HOST}:18081/apis/ccompat/v7/subjects`, { headers: { connection: 'close' } });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal([]);
  });

  it("Kafka's port accepts TCP connections", async () => {
    expect(await tcpConnects(19092)).to.equal(true);
  });

  it('a second infraUp() is idempotent: same pids, nothing started, quick', async () => {
    const result = await infraUp(options);
    expect(result.started).to.deep.equal([]);
    expect(result.alreadyRunning).to.have.members(['kafka', 'registry']);
    expect(byName(result.components, 'kafka').pid).to.equal(pids.kafka);
    expect(byName(result.components, 'registry').pid).to.equal(pids.registry);
  });

  it('infraDown() stops both and removes the pid files', async () => {
    const result = await infraDown(options);
    expect(result.components.map((c) => c.name)).to.have.members(['kafka', 'registry']);
    for (const c of result.components) expect(c.result, c.name).to.be.oneOf(['stopped', 'killed']);
    expect(alive(pids.kafka as number)).to.equal(false);
    expect(alive(pids.registry as number)).to.equal(false);
    expect(existsSync(join(stateDir, 'kafka.pid'))).to.equal(false);
    expect(existsSync(join(stateDir, 'registry.pid'))).to.equal(false);
    expect(await tcpConnects(19092)).to.equal(false);
    expect(await tcpConnects(18081)).to.equal(false);

    const status = await infraStatus(options);
    for (const c of status.components) expect(c, c.name).to.include({ running: false, ready: false, pid: null });
  });

  it("the registry keeps its schemas (and so their ids) across a restart; down --purge deletes them", async () => {
    const registryOnly = { ...options, only: ['registry'] as const };
    const base = `http://${HOST}:${PORTS.registryPort}/apis/ccompat/v7`;
    await infraUp(registryOnly);
    const registered = await fetch(`${base}/subjects/keep-me-value/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'K', fields: [{ name: 'a', type: 'string' }] }) }),
    });
    const { id } = (await registered.json()) as { id: number };
    await infraDown(registryOnly);
    await infraUp(registryOnly);
    expect(await (await fetch(`${base}/subjects`)).json()).to.deep.equal(['keep-me-value']);
    expect(((await (await fetch(`${base}/schemas/ids/${id}`)).json()) as { schema: string }).schema).to.include('"K"');
    const down = await infraDown({ ...registryOnly, purge: true });
    expect(down.purged).to.include(join(stateDir, 'registry', 'data'));
    expect(existsSync(join(stateDir, 'registry', 'data'))).to.equal(false);
  });
});

import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError, ensureInfra, infraStatus, infraUp, type InfraOptions } from '../src/index.js';

// Something registo did not start holds the Kafka port: a broker (here a listener that answers
// the Kafka metadata request as a broker does) or a process that does not speak Kafka at all.
// No JVM is started: every case ends before a launch.

const HOST = '127.0.0.1';

const sockets = new WeakMap<Server, Set<Socket>>();
function listen(onSocket: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve) => {
    const open = new Set<Socket>();
    const server = createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      onSocket(socket);
    });
    sockets.set(server, open);
    server.listen(0, HOST, () => resolve(server));
  });
}
const portOf = (server: Server): number => (server.address() as AddressInfo).port;
/** Closes the listener and the connections it still holds (a silent one never ends them itself). */
const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets.get(server) ?? []) socket.destroy();
  });

/** Answers each MetadataRequest v1 with one broker (itself) and no topics, as a running broker does. */
async function fakeBroker(): Promise<Server> {
  let port = 0;
  const server = await listen((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const correlationId = buffered.readInt32BE(8); // after size, api_key and api_version
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
        const host = Buffer.from(HOST);
        const body = Buffer.alloc(4 + 4 + 4 + 2 + host.length + 4 + 2 + 4 + 4);
        let o = body.writeInt32BE(correlationId, 0);
        o = body.writeInt32BE(1, o); // one broker
        o = body.writeInt32BE(1, o); // its node id
        o = body.writeInt16BE(host.length, o);
        o += host.copy(body, o);
        o = body.writeInt32BE(port, o);
        o = body.writeInt16BE(-1, o); // no rack
        o = body.writeInt32BE(1, o); // controller id
        body.writeInt32BE(0, o); // no topics
        const size = Buffer.alloc(4);
        size.writeInt32BE(body.length, 0);
        socket.write(Buffer.concat([size, body]));
      }
    });
  });
  port = portOf(server);
  return server;
}

/** Accepts connections and never answers: not Kafka. */
const silentListener = (): Promise<Server> => listen((socket) => socket.on('error', () => undefined));

async function freePort(): Promise<number> {
  const server = await listen(() => undefined);
  const port = portOf(server);
  await close(server);
  return port;
}

describe('local infra: a Kafka port held by something registo did not start', function () {
  this.timeout(60_000);
  let stateDir: string;
  const servers: Server[] = [];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'registo-infra-foreign-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
    await rm(stateDir, { recursive: true, force: true });
  });

  const optionsFor = async (server: Server): Promise<InfraOptions> => ({ stateDir, kafkaPort: portOf(server), kafkaControllerPort: await freePort(), only: ['kafka'] });

  it('another broker: status says so (not "stopped"), `infra up` fails suggesting --reuse, and --reuse uses it', async () => {
    const broker = await fakeBroker();
    servers.push(broker);
    const options = await optionsFor(broker);
    const [kafka] = (await infraStatus(options)).components;
    expect(kafka).to.include({ name: 'kafka', running: false, reusable: true, foreign: `another Kafka broker answers on ${HOST}:${portOf(broker)} (not started here)` });

    const refusal = await infraUp(options).then(() => undefined, (e: unknown) => e);
    expect(refusal).to.be.instanceOf(InfraError);
    expect((refusal as Error).message).to.include(`${HOST}:${portOf(broker)}`).and.to.include('registo infra up --reuse');

    expect(await ensureInfra(options)).to.include({ reused: true, kafka: `${HOST}:${portOf(broker)}` });
  });

  it('a process that is not Kafka: status names the port as taken, `infra up` fails without suggesting --reuse', async () => {
    const other = await silentListener();
    servers.push(other);
    const options = await optionsFor(other);
    const [kafka] = (await infraStatus(options)).components;
    expect(kafka).to.include({ running: false, reusable: false, foreign: `${HOST}:${portOf(other)} is in use by something that is not a Kafka broker (not started here)` });

    const refusal = await infraUp(options).then(() => undefined, (e: unknown) => e);
    expect(refusal).to.be.instanceOf(InfraError);
    expect((refusal as Error).message).to.include('already in use').and.not.to.include('--reuse');
  });
});

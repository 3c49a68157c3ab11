import { type Server, type Socket, createConnection, createServer } from 'node:net';

/**
 * A TCP relay in front of a server (PostgreSQL here), so a test can make the server vanish
 * for its clients without stopping it for anyone else: `refuse()` drops every connection and
 * stops listening (new connections get ECONNREFUSED, as from a database that is down),
 * `accept()` listens again on the same port.
 */
export interface TcpProxy {
  port: number;
  refuse(): Promise<void>;
  accept(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const relay = (client: Socket): void => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  let server: Server | undefined;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer(relay);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const refuse = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  return {
    port,
    refuse,
    async accept() {
      if (!server) await listen(port);
    },
    close: refuse,
  };
}

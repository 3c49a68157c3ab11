import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on right now: for a platform that must be started on a port it
 * names in its certificates (PORT=0 would name port 0), or for a URL where nothing answers.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

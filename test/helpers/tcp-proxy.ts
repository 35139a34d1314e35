import net from 'node:net';

/**
 * A loopback TCP proxy in front of a real service (PostgreSQL, an S3 server), so a test can cut one
 * instance's access to it — every open connection dropped, new ones refused — and then restore it
 * on the same port, as a network partition or a database restart would; or count what it sends.
 */
export interface TcpProxy {
  port: number;
  /** Bytes the target has sent through the proxy so far (what its clients downloaded). */
  readonly bytesFromTarget: number;
  /** Drops every connection and stops listening: connects get ECONNREFUSED. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  let fromTarget = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        upstream.on('data', (chunk: Buffer) => {
          fromTarget += chunk.length;
        });
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const cut = async () => {
    const s = server;
    server = null;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    port,
    get bytesFromTarget() {
      return fromTarget;
    },
    cut,
    restore: listen,
    close: cut,
  };
}

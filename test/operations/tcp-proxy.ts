import { createConnection, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a real service (MariaDB, Redis), that a test can make unreachable after a
 * server started through it: `freeze` holds the bytes (the service seems to hang), `refuse` closes
 * every connection and refuses new ones (a closed port). `restore` undoes either.
 */
export class TcpProxy {
  private frozen = false;
  private refusing = false;
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      if (proxy.refusing) return void client.destroy();
      const upstream = createConnection({ host: targetHost, port: targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      proxy.pairs.add(pair);
      const end = () => {
        proxy.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("data", (data) => void upstream.write(data));
      upstream.on("data", (data) => void client.write(data));
      if (proxy.frozen) for (const socket of pair) socket.pause();
      for (const socket of pair) {
        socket.on("close", end);
        socket.on("error", end);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** Bytes stop flowing both ways (they wait in the sockets' buffers): requests wait for an answer. */
  freeze(): void {
    this.frozen = true;
    for (const pair of this.pairs) for (const socket of pair) socket.pause();
  }

  /** Every connection is closed, and new ones are closed at once. */
  refuse(): void {
    this.refusing = true;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Bytes flow again, those held while frozen first. */
  restore(): void {
    this.frozen = false;
    this.refusing = false;
    for (const pair of this.pairs) for (const socket of pair) socket.resume();
  }

  async close(): Promise<void> {
    this.refuse();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server (PostgreSQL here), to cut and restore the
 * service's connections without touching the shared server: `cut()` drops every open
 * connection and refuses new ones (ECONNREFUSED), `restore()` listens again on the same port.
 */
export interface TcpProxy {
  readonly port: number;
  /** Local ports of the open connections to the server: `client_port` in `pg_stat_activity`. */
  upstreamPorts(): number[];
  cut(): Promise<void>;
  /** Drops every open connection but keeps listening: new clients wait, unanswered, until restore(). */
  hold(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  let held: Socket[] | undefined;
  const handle = (client: Socket): void => {
    if (held) {
      held.push(client);
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    track(client);
    track(upstream);
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    // A failure on either side ends both, as a dying server or network would.
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const listen = async (port: number): Promise<Server> => {
    const next = createServer(handle);
    next.listen(port, '127.0.0.1');
    await once(next, 'listening');
    return next;
  };
  let server: Server | undefined = await listen(0);
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no port');
  const port = address.port;

  const cut = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    if (closing) {
      const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    }
  };
  return {
    port,
    upstreamPorts: () => [...upstreams].map((s) => s.localPort).filter((p): p is number => p !== undefined),
    cut,
    hold() {
      held = [];
      for (const socket of sockets) socket.destroy();
    },
    async restore() {
      const waiting = held ?? [];
      held = undefined;
      for (const client of waiting) if (!client.destroyed) handle(client);
      server ??= await listen(port);
    },
    close: cut,
  };
}

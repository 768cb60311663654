import { createServer, type Server, Socket } from 'node:net';
import { freePort } from './free-port';

/** What the proxy does to new connections. */
export type NewConnections = 'forward' | 'refuse' | 'hang';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Set when this pair silently stopped forwarding (half-open as seen from either end). */
  blackholed: boolean;
  /** Set when this pair forwards what the client sends but drops what the server answers. */
  repliesLost: boolean;
  /** While set, what either end sends is held here, in order, and delivered on heal(). */
  held: { toServer: Buffer[]; toClient: Buffer[] } | undefined;
}

/**
 * A TCP proxy on loopback between the service and a real server (redis-server, dynalite), which
 * injects the faults a network brings: existing connections that go silent (half-open: no FIN, no
 * RST), new connections refused or left hanging, every connection reset, added latency, and a
 * connection closed after some bytes. Test code: production never sees it.
 */
export class FaultProxy {
  readonly #pairs = new Set<Pair>();
  #newConnections: NewConnections = 'forward';
  #latencyMs = 0;
  #closeAfterBytes: number | undefined;
  #cannedReply: string | undefined;
  #cannedOnlyFor: string | undefined;
  #accepted = 0;
  #trigger: { bytesLeft: number; action: () => void } | undefined;
  #onClientSends: { matches: (chunk: Buffer) => boolean; fault: 'half-open' | 'lose-replies' } | undefined;
  #sent: Buffer[] | undefined;

  private constructor(
    readonly port: number,
    readonly upstreamPort: number,
    readonly server: Server,
  ) {}

  static async start(upstreamPort: number): Promise<FaultProxy> {
    const port = await freePort();
    const server = createServer();
    const proxy = new FaultProxy(port, upstreamPort, server);
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  /** The same URL with the proxy's port in place of the server's. */
  rewrite(url: string): string {
    return url.replace(`:${this.upstreamPort}`, `:${this.port}`);
  }

  /** How many connections the proxy has accepted since it started. */
  get accepted(): number {
    return this.#accepted;
  }

  get connections(): number {
    return [...this.#pairs].filter((pair) => !pair.client.destroyed).length;
  }

  /** Existing connections stop forwarding in both directions and stay open: half-open. */
  blackholeExisting(): void {
    for (const pair of this.#pairs) pair.blackholed = true;
  }

  /**
   * Existing connections hold what either end sends from now on, and deliver it, in order, on
   * heal(), to the server even after the client has given up and closed: commands that reach the
   * server late, as a network that retransmits after a stall delivers them. Nothing is dropped from
   * the middle of a stream (a client would match later replies to the wrong commands).
   */
  stallExisting(): void {
    for (const pair of this.#pairs) pair.held ??= { toServer: [], toClient: [] };
  }

  /**
   * Existing connections still deliver what the client sends, but drop every reply: the server
   * acts on each command and the client never hears of it (a reply lost after the write).
   */
  loseRepliesOnExisting(): void {
    for (const pair of this.#pairs) pair.repliesLost = true;
  }

  /**
   * Runs `action` as soon as the server has sent `bytes` more bytes (over all connections), before
   * those bytes are forwarded: a fault then strikes with replies on their way, at a point of a
   * burst that does not depend on how fast the machine is.
   */
  afterServerSent(bytes: number, action: () => void): void {
    this.#trigger = { bytesLeft: bytes, action };
  }

  /**
   * Strikes the connection of the first chunk a client sends from now on that `matches` (a write,
   * say, after a new connection's handshake): `half-open` silences it before that chunk is forwarded
   * (the write never arrives), `lose-replies` forwards the chunk and drops every reply after it.
   */
  strikeWhenClientSends(matches: (chunk: Buffer) => boolean, fault: 'half-open' | 'lose-replies'): void {
    this.#onClientSends = { matches, fault };
  }

  /** From now on keeps what clients send, forwarded or not, for sentByClients(). */
  recordSent(): void {
    this.#sent = [];
  }

  /** What clients have sent since recordSent(), as text (what a request asked for); recording stops. */
  sentByClients(): string {
    const sent = Buffer.concat(this.#sent ?? []).toString();
    this.#sent = undefined;
    return sent;
  }

  /** What new connections get from now on. `refuse` resets each one as it arrives. */
  setNewConnections(mode: NewConnections): void {
    this.#newConnections = mode;
  }

  /** Every open connection is reset (RST), as when a NAT or load balancer forgets it. */
  resetAll(): void {
    for (const pair of this.#pairs) this.#reset(pair);
  }

  /** Delays every chunk, in both directions, by `ms`. */
  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Closes each new connection once this many bytes went through it (undefined: never). */
  setCloseAfterBytes(bytes: number | undefined): void {
    this.#closeAfterBytes = bytes;
  }

  /**
   * Answers every chunk the client sends with `reply` instead of forwarding it (undefined: forward);
   * with `onlyFor`, only the chunks that contain it (an HTTP request sent in one chunk: its
   * operation's header, say). For HTTP servers: a whole canned response, such as DynamoDB's
   * throttling error.
   */
  setCannedReply(reply: string | undefined, onlyFor?: string): void {
    this.#cannedReply = reply;
    this.#cannedOnlyFor = onlyFor;
  }

  /** Back to forwarding everything; connections already blackholed stay so. */
  heal(): void {
    for (const pair of this.#pairs) this.#release(pair);
    this.#newConnections = 'forward';
    this.#latencyMs = 0;
    this.#closeAfterBytes = undefined;
    this.#cannedReply = undefined;
    this.#onClientSends = undefined;
    this.#cannedOnlyFor = undefined;
    this.#sent = undefined;
  }

  async stop(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.#accepted += 1;
    const pair: Pair = { client, upstream: undefined, blackholed: false, repliesLost: false, held: undefined };
    this.#pairs.add(pair);
    client.on('error', () => {});
    client.on('close', () => {
      if (pair.held) return; // the server gets what was held on heal()
      this.#pairs.delete(pair);
      if (!pair.blackholed) pair.upstream?.destroy();
    });
    if (this.#newConnections === 'refuse') {
      this.#reset(pair);
      return;
    }
    if (this.#newConnections === 'hang') {
      pair.blackholed = true;
      // What the client sends is dropped, but read: its close is then seen, as a server's kernel sees it.
      client.on('data', () => {});
      return;
    }
    const upstream = new Socket();
    pair.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('close', () => {
      if (!pair.blackholed) client.destroy();
    });
    upstream.connect(this.upstreamPort, '127.0.0.1');
    const budget = { bytes: this.#closeAfterBytes ?? Number.POSITIVE_INFINITY };
    this.#pipe(pair, client, upstream, budget);
    this.#pipe(pair, upstream, client, budget);
  }

  #pipe(pair: Pair, from: Socket, to: Socket, budget: { bytes: number }): void {
    // Chunks leave in the order they came, whatever the latency did meanwhile: TCP never reorders.
    const queue: { chunk: Buffer; due: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && (queue[0]?.due ?? 0) <= Date.now()) forward(queue.shift()?.chunk as Buffer);
      if (queue.length > 0) timer = setTimeout(pump, (queue[0]?.due ?? 0) - Date.now());
    };
    const forward = (chunk: Buffer) => {
      if (pair.blackholed || to.destroyed) return;
      const allowed = chunk.subarray(0, Math.max(0, budget.bytes));
      budget.bytes -= chunk.length;
      if (allowed.length > 0) to.write(allowed);
      if (budget.bytes < 0) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
    };
    from.on('data', (chunk: Buffer) => {
      const strike = this.#onClientSends;
      if (strike && from === pair.client && strike.matches(chunk)) {
        this.#onClientSends = undefined;
        if (strike.fault === 'half-open') pair.blackholed = true;
        else pair.repliesLost = true;
      }
      if (this.#sent && from === pair.client) this.#sent.push(chunk);
      if (pair.blackholed || (pair.repliesLost && from !== pair.client)) return;
      if (pair.held) {
        (from === pair.client ? pair.held.toServer : pair.held.toClient).push(chunk);
        return;
      }
      if (this.#trigger && from === pair.upstream) {
        this.#trigger.bytesLeft -= chunk.length;
        const { bytesLeft, action } = this.#trigger;
        if (bytesLeft <= 0) {
          this.#trigger = undefined;
          action();
          if (pair.blackholed || to.destroyed) return;
        }
      }
      const canned =
        this.#cannedReply !== undefined &&
        from === pair.client &&
        (this.#cannedOnlyFor === undefined || chunk.includes(this.#cannedOnlyFor));
      if (canned) {
        from.write(this.#cannedReply as string);
        return;
      }
      queue.push({ chunk, due: Date.now() + this.#latencyMs });
      if (!timer) pump();
    });
  }

  #release(pair: Pair): void {
    const held = pair.held;
    if (!held) return;
    pair.held = undefined;
    const upstream = pair.upstream;
    if (upstream && !upstream.destroyed) for (const chunk of held.toServer) upstream.write(chunk);
    if (!pair.client.destroyed) for (const chunk of held.toClient) pair.client.write(chunk);
    if (pair.client.destroyed) {
      this.#pairs.delete(pair);
      upstream?.end();
    }
  }

  #reset(pair: Pair): void {
    pair.blackholed = false;
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (pair.upstream && !pair.upstream.destroyed) pair.upstream.resetAndDestroy();
  }
}

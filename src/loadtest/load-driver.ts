import { connect as netConnect, type Socket } from 'node:net';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import type { LatencyRecorderFactory, LatencySummary } from './latency.js';

/**
 * The load driver of `pending-hooks bench` and bench/: HTTP/1.1 keep-alive connections on raw
 * sockets, at most one request in flight on each. A request's head is precomputed per body
 * (only the `X-Webhook-Id` changes) and written with its pre-signed body in one corked write;
 * answers are read with a minimal parser (status, Content-Length or chunked framing,
 * `Connection: close`, `Content-Type`). autocannon, which this replaces, spent ~30 µs of CPU per
 * request (request rebuilt per call for the unique id, http-parser-js, event emitters): on a
 * 2-core machine it nearly saturated its core at the rate of the benchmark's floor
 * (bench/RESULTS.md).
 *
 * Two schedules:
 * - closed loop (no `rate`): every connection sends its next request as soon as its answer
 *   arrives, for `durationS` or until `amount` requests were sent; latency from the send;
 * - open loop (`rate`): request k is due at `start + k / rate` whatever happened to the earlier
 *   ones, and its latency counts from that due time, so waiting for a free connection counts
 *   (no coordinated omission). A due request that finds every connection busy waits in a FIFO
 *   queue. After the last one is due, answers are awaited for at most `drainS`; requests still
 *   unanswered then are counted as `unanswered` and enter the latency with the time they had
 *   waited so far (a lower bound), so an overloaded server never looks fast. With
 *   `whenAllBusy: 'skip'` a due request that finds every connection busy is not sent at all
 *   (counted in `skipped`), as a sender with a fixed number of connections that does not wait
 *   would do; latency is then the server's alone.
 */

/** One pre-encoded request; the pool is sent round-robin. */
export interface DriverRequest {
  body: Buffer;
  /** Header lines of this body (content type, signature, api key, …), names in lowercase. */
  headers: Readonly<Record<string, string>>;
}

/** An answer, handed to {@link DriveOptions.onAnswer}. */
export interface DriverAnswer {
  status: number;
  /** The answer's `Content-Type` ('' when absent). */
  contentType: string;
  body: Buffer;
  /** From the send (closed loop) or from the due time (open loop). */
  latencyMs: number;
}

export interface DriveOptions {
  /** `http://host:port` or `https://host:port`; a path here is ignored. */
  origin: string;
  /** Path (and query) of every request. */
  path: string;
  requests: readonly DriverRequest[];
  /** Request n carries `X-Webhook-Id: {webhookIdPrefix}{n}`. */
  webhookIdPrefix: string;
  connections: number;
  /** Seconds to run (closed loop), or to schedule requests over (open loop, with `rate`). */
  durationS?: number;
  /** Requests to send, instead of a duration. */
  amount?: number;
  /** Requests per second: open loop. Without it, closed loop. */
  rate?: number;
  /** A request unanswered after this long is given up (its connection closed) and counted in `timeouts`. Default 10000. */
  requestTimeoutMs?: number;
  /** Open loop: how long answers are awaited after the last request was due. Default: the request timeout. */
  drainS?: number;
  /** Open loop: a due request that finds every connection busy waits for one (`queue`, the default) or is not sent (`skip`). */
  whenAllBusy?: 'queue' | 'skip';
  /** Ends the run early: nothing more is sent, what is in flight is left. */
  signal?: AbortSignal;
  /** The latency summary's recorders (every answer, and the unanswered ones' waits; the open loop's send lag). */
  latency: LatencyRecorderFactory;
  onAnswer?: (answer: DriverAnswer) => void;
  /** A connection failed (`network`) or a request outlived the request timeout (`timeout`). */
  onError?: (kind: 'network' | 'timeout', message: string) => void;
}

export interface DriveResult {
  /** Requests written. */
  sent: number;
  answered: number;
  /** Requests lost to connection errors. */
  networkErrors: number;
  /** Requests given up after the request timeout. */
  timeouts: number;
  /** Open loop: requests still unanswered when the drain ended. */
  unanswered: number;
  /** Open loop with `whenAllBusy: 'skip'`: due requests not sent because every connection was busy. */
  skipped: number;
  /** From the first request to the end. */
  seconds: number;
  /** Latency of every answer (and of the unanswered requests' waits). */
  latency: LatencySummary;
  /** CPU time of this process over the run, as a fraction of one core. */
  loadgenCpu: number;
  /** Open loop: how late the driver itself noticed requests were due (not queueing for a connection). */
  sendLag: LatencySummary | undefined;
  /** The driver's process's GC pauses during the run (they delay sends and reads). */
  gcMaxMs: number;
  gcTotalMs: number;
  lastError?: string;
  aborted: boolean;
}

interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
}

/** An answer (its latency filled in by the driver) or what went wrong. */
type Completion = DriverAnswer | Error;

const headerEnd = Buffer.from('\r\n\r\n');
const contentLengthPattern = /\r\ncontent-length:[ \t]*(\d+)/i;
const chunkedPattern = /\r\ntransfer-encoding:[^\r]*chunked/i;
const closePattern = /\r\nconnection:[ \t]*close/i;
const contentTypePattern = /\r\ncontent-type:[ \t]*([^\r]*)/i;

/** A chunked body from `start`: the body and where it ends, undefined while incomplete. */
function readChunked(data: Buffer, start: number): { body: Buffer; end: number } | undefined | Error {
  const parts: Buffer[] = [];
  let position = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', position, 'latin1');
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.toString('latin1', position, lineEnd), 16);
    if (!Number.isInteger(size) || size < 0) return new Error('malformed chunked answer');
    if (size === 0) {
      // Trailers, if any, end with an empty line.
      const end = data.indexOf(headerEnd, lineEnd);
      return end < 0 ? undefined : { body: Buffer.concat(parts), end: end + 4 };
    }
    const bodyStart = lineEnd + 2;
    if (data.length < bodyStart + size + 2) return undefined;
    parts.push(data.subarray(bodyStart, bodyStart + size));
    position = bodyStart + size + 2;
  }
}

/** One keep-alive connection with at most one request in flight; reopened (lazily) when closed. */
class Connection {
  private socket: Socket | undefined;
  private pending: Buffer | undefined;
  sentAt = 0;
  /** When the request was due (open loop). */
  dueAt = 0;
  busy = false;
  /** The current socket connected (a failure before that is the server not listening). */
  connected = false;
  private stopped = false;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly onDone: (connection: Connection, completion: Completion) => void,
  ) {}

  private open(): Socket {
    const { host, port, tls } = this.endpoint;
    const socket = tls ? tlsConnect({ host, port, servername: host }) : netConnect(port, host);
    this.connected = false;
    socket.setNoDelay(true);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      if (socket === this.socket) this.connected = true;
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) this.read(chunk);
    });
    socket.on('error', (error) => {
      if (socket === this.socket) this.drop(error);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.drop(new Error('connection closed with a request in flight'));
    });
    return socket;
  }

  /** Opens the socket ahead of the run; resolves when it connected or failed. */
  ready(): Promise<void> {
    this.socket ??= this.open();
    const socket = this.socket;
    return new Promise((resolve) => {
      socket.once(this.endpoint.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  send(head: string, body: Buffer, dueAt: number): void {
    this.socket ??= this.open();
    this.busy = true;
    this.dueAt = dueAt;
    this.pending = undefined;
    this.sentAt = performance.now();
    // Written at once even while connecting: node queues it.
    this.socket.cork();
    this.socket.write(head, 'latin1');
    this.socket.write(body);
    this.socket.uncork();
  }

  /** Gives up on the request in flight: the connection is closed (a late answer must not be read as the next one's). */
  timeOut(afterMs: number): void {
    if (!this.busy) return;
    this.close();
    this.finish(new TimeoutError(`no answer within ${afterMs} ms`));
  }

  private read(chunk: Buffer): void {
    if (!this.busy) return;
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = data.indexOf(headerEnd);
    if (end < 0) {
      this.pending = data;
      return;
    }
    const head = data.toString('latin1', 0, end);
    const status = (data[9]! - 48) * 100 + (data[10]! - 48) * 10 + (data[11]! - 48);
    if (status >= 100 && status < 200) {
      // An interim answer (100 Continue): the real one follows.
      this.pending = undefined;
      if (data.length > end + 4) this.read(data.subarray(end + 4));
      return;
    }
    const bodyStart = end + 4;
    let body: Buffer;
    const length = contentLengthPattern.exec(head);
    if (length) {
      const bodyEnd = bodyStart + Number(length[1]);
      if (data.length < bodyEnd) {
        this.pending = data;
        return;
      }
      body = data.subarray(bodyStart, bodyEnd);
    } else if (chunkedPattern.test(head)) {
      const chunked = readChunked(data, bodyStart);
      if (chunked === undefined) {
        this.pending = data;
        return;
      }
      if (chunked instanceof Error) return this.fail(chunked);
      body = chunked.body;
    } else if (status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else {
      return this.fail(new Error(`answer without Content-Length or chunked framing: ${head.split('\r\n')[0]}`));
    }
    const contentType = contentTypePattern.exec(head)?.[1]?.trim() ?? '';
    // The server closes after this answer: the next request goes to a new connection.
    if (closePattern.test(head)) this.close();
    this.finish({ status, contentType, body, latencyMs: 0 });
  }

  private fail(error: Error): void {
    this.close();
    this.finish(error);
  }

  private drop(error: Error): void {
    this.socket = undefined;
    if (this.busy) this.finish(error);
  }

  private finish(completion: Completion): void {
    this.busy = false;
    this.pending = undefined;
    if (!this.stopped) this.onDone(this, completion);
  }

  private close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  stop(): void {
    this.stopped = true;
    this.close();
  }
}

class TimeoutError extends Error {}

function endpointOf(origin: string): Endpoint {
  const url = new URL(origin);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`only http:// and https:// are supported, got ${origin}`);
  const tls = url.protocol === 'https:';
  // A bracketed IPv6 literal is connected to without its brackets.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port === '' ? (tls ? 443 : 80) : Number(url.port), tls };
}

/** The request heads: everything but the id precomputed per body. */
function headMaker(options: DriveOptions): (n: number) => string {
  const host = new URL(options.origin).host;
  const prefixes = options.requests.map(({ body, headers }) => {
    const lines = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    return `POST ${options.path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n${lines}content-length: ${body.length}\r\n`;
  });
  return (n) => `${prefixes[n % prefixes.length]}x-webhook-id: ${options.webhookIdPrefix}${n}\r\n\r\n`;
}

/** Runs the load; resolves when it is over (never rejects for what the server does). */
export async function driveLoad(options: DriveOptions): Promise<DriveResult> {
  if (options.requests.length === 0) throw new RangeError('driveLoad: no requests to send');
  if (options.amount === undefined && options.durationS === undefined) throw new RangeError('driveLoad: give a duration or an amount');
  const endpoint = endpointOf(options.origin);
  const makeHead = headMaker(options);
  const requests = options.requests;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const latency = options.latency();
  const open = options.rate !== undefined;
  const lags = open ? options.latency() : undefined;

  let gcMaxMs = 0;
  let gcTotalMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
      gcTotalMs += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  let sent = 0;
  let answered = 0;
  let networkErrors = 0;
  let timeouts = 0;
  let lastError: string | undefined;
  let running = true;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  /** Counts a completed request; true when it failed before its connection ever connected. */
  const complete = (connection: Connection, completion: Completion, latencyMs: number): boolean => {
    if (completion instanceof Error) {
      lastError = completion.message;
      if (completion instanceof TimeoutError) {
        timeouts++;
        options.onError?.('timeout', completion.message);
      } else {
        networkErrors++;
        options.onError?.('network', completion.message);
      }
      return !connection.connected;
    }
    answered++;
    latency.record(latencyMs);
    completion.latencyMs = latencyMs;
    options.onAnswer?.(completion);
    return false;
  };

  // Closed loop: the next request on the connection that answered.
  const sendNext = (connection: Connection) => {
    if (!running) return;
    if (options.amount !== undefined && sent >= options.amount) {
      if (connections.every((other) => !other.busy)) finish();
      return;
    }
    const n = sent++;
    connection.send(makeHead(n), requests[n % requests.length]!.body, 0);
  };

  // Open loop state.
  const total = open ? (options.amount ?? Math.max(1, Math.round(options.rate! * options.durationS!))) : 0;
  const intervalMs = open ? 1000 / options.rate! : 0;
  const queue: number[] = [];
  let queueHead = 0;
  let done = 0;
  let skipped = 0;
  const skip = options.whenAllBusy === 'skip';
  const idle: Connection[] = [];
  const dispatch = (connection: Connection, dueAt: number) => {
    const n = sent++;
    connection.send(makeHead(n), requests[n % requests.length]!.body, dueAt);
  };

  const connections: Connection[] = Array.from(
    { length: options.connections },
    () =>
      new Connection(endpoint, (connection, completion) => {
        if (!running) return;
        const now = performance.now();
        const refused = complete(connection, completion, now - (open ? connection.dueAt : connection.sentAt));
        if (open) {
          if (++done + skipped === total) return finish();
          if (queueHead < queue.length) dispatch(connection, queue[queueHead++]!);
          else idle.push(connection);
        } else if (refused) {
          // Nobody listens: retry the connection, without spinning.
          setTimeout(() => sendNext(connection), 20);
        } else sendNext(connection);
      }),
  );
  // Connections are opened before the clock starts.
  await Promise.all(connections.map((connection) => connection.ready()));

  const onAbort = () => finish();
  if (options.signal?.aborted) finish();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const connection of connections) if (connection.busy && now - connection.sentAt > requestTimeoutMs) connection.timeOut(requestTimeoutMs);
  }, Math.min(100, requestTimeoutMs / 4));

  const cpuStart = process.cpuUsage();
  const start = performance.now() + (open ? 5 : 0);
  let timer: NodeJS.Timeout | undefined;
  if (open) {
    idle.push(...connections);
    let due = 0;
    const tick = () => {
      if (!running) return;
      const now = performance.now();
      while (due < total && start + due * intervalMs <= now) {
        const dueAt = start + due++ * intervalMs;
        lags!.record(now - dueAt);
        const connection = idle.pop();
        if (connection) dispatch(connection, dueAt);
        else if (!skip) queue.push(dueAt);
        else if (++skipped + done === total) return finish();
      }
      if (due >= total) return;
      // Close to the next due time, setImmediate (timers' 1 ms granularity would send in
      // bursts); further away, a timer, so a low rate does not spin a core.
      const wait = start + due * intervalMs - performance.now();
      if (wait > 2) timer = setTimeout(tick, wait - 1);
      else setImmediate(tick);
    };
    setImmediate(tick);
    const drainMs = (options.drainS ?? requestTimeoutMs / 1000) * 1000;
    const watchdog = setTimeout(() => finish(), total * intervalMs + drainMs + 5);
    void finished.then(() => clearTimeout(watchdog));
  } else {
    for (const connection of connections) sendNext(connection);
    if (options.durationS !== undefined && options.amount === undefined) timer = setTimeout(() => finish(), options.durationS * 1000);
  }

  await finished;
  running = false;
  const end = performance.now();
  clearTimeout(timer);
  clearInterval(sweeper);
  options.signal?.removeEventListener('abort', onAbort);
  gcObserver.disconnect();
  const aborted = options.signal?.aborted === true;
  let unanswered = 0;
  if (open && !aborted) {
    for (const connection of connections) {
      if (!connection.busy) continue;
      unanswered++;
      latency.record(end - connection.dueAt);
    }
    for (let i = queueHead; i < queue.length; i++) {
      unanswered++;
      latency.record(end - queue[i]!);
    }
  }
  const seconds = Math.max(0.001, (end - start) / 1000);
  const cpu = process.cpuUsage(cpuStart);
  for (const connection of connections) connection.stop();
  return {
    sent,
    answered,
    networkErrors,
    timeouts,
    unanswered,
    skipped,
    seconds,
    latency: latency.summary(),
    loadgenCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    sendLag: lags?.summary(),
    gcMaxMs,
    gcTotalMs,
    aborted,
    ...(lastError === undefined ? {} : { lastError }),
  };
}

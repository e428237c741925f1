import { connect, type Socket } from 'node:net';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { benchApiKey } from './common.js';
import type { LoadResult, LoadTarget } from './load.js';
import { Samples } from './stats.js';

/*
 * A lean HTTP/1.1 keep-alive load generator on raw sockets, for the one core the load
 * generator has. autocannon spends ~30 µs of CPU per request here (request rebuilt per call
 * for the unique X-Webhook-Id, http-parser-js, event emitters): on this 2-core machine it
 * saturates its core at ~29k req/s, which is where the floor answers, so the floor would be
 * measured too low. This client writes a precomputed head (only the id changes) and the
 * pre-signed body in one corked write and reads answers with a minimal parser
 * (Content-Length framing; anything else fails the row loudly).
 */

const headerEnd = Buffer.from('\r\n\r\n');
const contentLengthPattern = /\r\ncontent-length:[ \t]*(\d+)/i;
const requestTimeoutMs = 10_000;

interface Completion {
  status: number;
  body: Buffer;
}

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private socket: Socket;
  private pending: Buffer | undefined;
  private expected = -1;
  private headLength = -1;
  sentAt = 0;
  /** When the request was due (open loop), for latency without coordinated omission. */
  dueAt = 0;
  busy = false;
  closed = false;

  constructor(
    private readonly port: number,
    private readonly onAnswer: (connection: Connection, answer: Completion | Error) => void,
  ) {
    this.socket = this.open();
  }

  private open(): Socket {
    const socket = connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => {
      if (this.busy) this.finish(error);
    });
    socket.on('close', () => {
      // The server closed a keep-alive connection: open another (before reporting, so a
      // next request goes to the new socket).
      if (!this.closed) this.socket = this.open();
      if (this.busy) this.finish(new Error('connection closed with a request in flight'));
    });
    return socket;
  }

  ready(): Promise<void> {
    if (!this.socket.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(head: string, body: Buffer, dueAt: number): void {
    this.busy = true;
    this.dueAt = dueAt;
    this.pending = undefined;
    this.expected = -1;
    this.headLength = -1;
    this.sentAt = performance.now();
    this.socket.cork();
    this.socket.write(head, 'latin1');
    this.socket.write(body);
    this.socket.uncork();
  }

  private read(chunk: Buffer): void {
    if (!this.busy) return;
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.headLength < 0) {
      const end = data.indexOf(headerEnd);
      if (end < 0) {
        this.pending = data;
        return;
      }
      this.headLength = end + 4;
      const head = data.toString('latin1', 0, end);
      const length = contentLengthPattern.exec(head);
      if (!length) {
        this.finish(new Error(`answer without Content-Length (not supported by the lean client): ${head.split('\r\n')[0]}`));
        return;
      }
      this.expected = this.headLength + Number(length[1]);
    }
    if (data.length < this.expected) {
      this.pending = data;
      return;
    }
    const status = (data[9]! - 48) * 100 + (data[10]! - 48) * 10 + (data[11]! - 48);
    this.finish({ status, body: data.subarray(this.headLength, this.expected) });
  }

  private finish(answer: Completion | Error): void {
    this.busy = false;
    this.pending = undefined;
    this.onAnswer(this, answer);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** The request heads of a target: everything but the id is precomputed per body. */
function headMaker(target: LoadTarget, tag: string): (i: number) => string {
  const fixed = Object.entries(target.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const prefixes = target.bodies.map(
    (body, i) =>
      `POST ${target.path} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\nconnection: keep-alive\r\n${fixed}` +
      `x-signature: ${target.signatures[i]}\r\nx-api-key: ${benchApiKey}\r\nx-webhook-attempt: 1\r\ncontent-length: ${body.length}\r\n`,
  );
  let sequence = 0;
  return (i) => `${prefixes[i % prefixes.length]}x-webhook-id: ${tag}-${sequence++}\r\n\r\n`;
}

interface Tally {
  ok: number;
  fallbacks: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  latencies: Samples;
  lastError?: string;
}

function record(tally: Tally, target: LoadTarget, answer: Completion | Error, latency: number): void {
  if (answer instanceof Error) {
    tally.errors++;
    tally.lastError = answer.message;
  } else if (answer.status < 200 || answer.status >= 300) tally.non2xx++;
  else {
    const kind = target.classify ? target.classify(answer.body.toString('latin1')) : 'decision';
    if (kind === 'bad') tally.mismatches++;
    else {
      // A fallback is an answer too: its latency counts; it is not throughput.
      if (kind === 'fallback') tally.fallbacks++;
      else tally.ok++;
      tally.latencies.push(latency);
    }
  }
}

async function openConnections(target: LoadTarget, count: number, onAnswer: (connection: Connection, answer: Completion | Error) => void): Promise<Connection[]> {
  const connections = Array.from({ length: count }, () => new Connection(target.port, onAnswer));
  await Promise.all(connections.map((connection) => connection.ready()));
  return connections;
}

function timedOut(connections: Connection[]): number {
  const now = performance.now();
  return connections.filter((connection) => connection.busy && now - connection.sentAt > requestTimeoutMs).length;
}

/** Closed loop: every connection sends its next request as soon as its answer arrives. */
export async function leanClosedLoop(target: LoadTarget, options: { connections: number; seconds: number; tag: string }): Promise<LoadResult> {
  const makeHead = headMaker(target, options.tag);
  const tally: Tally = { ok: 0, fallbacks: 0, non2xx: 0, errors: 0, mismatches: 0, latencies: new Samples() };
  let next = 0;
  let running = true;
  const sendNext = (connection: Connection) => {
    const i = next++;
    connection.send(makeHead(i), target.bodies[i % target.bodies.length]!, 0);
  };
  const connections = await openConnections(target, options.connections, (connection, answer) => {
    if (!running) return;
    record(tally, target, answer, performance.now() - connection.sentAt);
    sendNext(connection);
  });
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (const connection of connections) sendNext(connection);
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  running = false;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const timeouts = timedOut(connections);
  for (const connection of connections) connection.close();
  return {
    ok: tally.ok,
    fallbacks: tally.fallbacks,
    non2xx: tally.non2xx,
    errors: tally.errors,
    timeouts,
    mismatches: tally.mismatches,
    seconds,
    rps: tally.ok / seconds,
    latency: tally.latencies.summary(),
    loadgenCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    ...(tally.lastError ? { lastError: tally.lastError } : {}),
  };
}

/**
 * Open loop at a fixed rate (like wrk2): request k is due at `start + k / rate` whatever
 * happened to the earlier ones and its latency counts from that due time, so waiting for a
 * free connection counts (no coordinated omission). A due request that finds every
 * connection busy waits in a FIFO queue. After the last request is due, answers are awaited
 * for at most `drainSeconds`; requests still unanswered then (a server slower than the rate)
 * are counted as `unanswered` and enter the latency percentiles with the time they had
 * waited so far (a lower bound), so an overloaded server never looks fast.
 */
export async function leanOpenLoop(
  target: LoadTarget,
  options: { connections: number; seconds: number; rate: number; tag: string; drainSeconds?: number },
): Promise<LoadResult & { rate: number; sendLagP99: number; unanswered: number; generatorGcMaxMs: number; generatorGcTotalMs: number }> {
  // The generator's own GC pauses delay sends and reads: reported so a bad round can be told apart.
  let gcMax = 0;
  let gcTotal = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMax = Math.max(gcMax, entry.duration);
      gcTotal += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const makeHead = headMaker(target, options.tag);
  const tally: Tally = { ok: 0, fallbacks: 0, non2xx: 0, errors: 0, mismatches: 0, latencies: new Samples() };
  const lags = new Samples();
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const interval = 1000 / options.rate;
  const queue: number[] = [];
  let queueHead = 0;
  let sent = 0;
  let done = 0;
  let draining = true;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const idle: Connection[] = [];
  const dispatch = (connection: Connection, dueAt: number) => {
    const i = sent++;
    connection.send(makeHead(i), target.bodies[i % target.bodies.length]!, dueAt);
  };
  const connections = await openConnections(target, options.connections, (connection, answer) => {
    if (!draining) return;
    record(tally, target, answer, performance.now() - connection.dueAt);
    if (++done === total) finish();
    if (queueHead < queue.length) dispatch(connection, queue[queueHead++]!);
    else idle.push(connection);
  });
  idle.push(...connections);

  const cpuStart = process.cpuUsage();
  const start = performance.now() + 5;
  let due = 0;
  // setImmediate, not timers: the generator owns its core, and timers' 1 ms granularity
  // would send in bursts.
  const tick = () => {
    const now = performance.now();
    while (due < total && start + due * interval <= now) {
      const dueAt = start + due++ * interval;
      // How late the generator itself noticed the request was due (not queueing for a connection).
      lags.push(now - dueAt);
      const connection = idle.pop();
      if (connection) dispatch(connection, dueAt);
      else queue.push(dueAt);
    }
    if (due < total) setImmediate(tick);
  };
  setImmediate(tick);
  const drainMs = (options.drainSeconds ?? 10) * 1000;
  const watchdog = setTimeout(() => finish(), options.seconds * 1000 + drainMs);
  await finished;
  clearTimeout(watchdog);
  draining = false;
  gcObserver.disconnect();
  const end = performance.now();
  let unanswered = 0;
  for (const connection of connections) {
    if (!connection.busy) continue;
    unanswered++;
    tally.latencies.push(end - connection.dueAt);
  }
  for (let i = queueHead; i < queue.length; i++) {
    unanswered++;
    tally.latencies.push(end - queue[i]!);
  }
  const seconds = (end - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  for (const connection of connections) connection.close();
  return {
    ok: tally.ok,
    fallbacks: tally.fallbacks,
    non2xx: tally.non2xx,
    errors: tally.errors,
    timeouts: 0,
    mismatches: tally.mismatches,
    seconds,
    rps: tally.ok / seconds,
    latency: tally.latencies.summary(),
    loadgenCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    rate: options.rate,
    sendLagP99: lags.summary().p99,
    unanswered,
    generatorGcMaxMs: gcMax,
    generatorGcTotalMs: gcTotal,
    ...(tally.lastError ? { lastError: tally.lastError } : {}),
  };
}

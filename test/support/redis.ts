import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './free-port.js';

export { freePort };

/** The redis-server binary on PATH, if any. */
export const redisServerBinary: string | undefined = (() => {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
})();

/** Why the Redis tests cannot run here, or undefined when they can (REDIS_URL, or a binary to start). */
export const redisUnavailable: string | undefined =
  process.env.REDIS_URL || redisServerBinary
    ? undefined
    : 'REDIS_URL is unset and no redis-server binary is on PATH (apt-get install -y redis-server): the Redis tests are SKIPPED';
if (redisUnavailable) console.warn(`\n!!! ${redisUnavailable} !!!\n`);

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** True when this helper started the server (so it can be stopped and restarted). */
  readonly own: boolean;
  /** Stops the server (own servers only). */
  stop(): Promise<void>;
  /** Starts it again on the same port (own servers only). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that holds connections open and answers nothing (own servers only). */
  pause(): void;
  resume(): void;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A Redis for a test: `REDIS_URL` when set (and `own` is not asked for), else a `redis-server`
 * started on a free loopback port (no persistence), stopped by `stop()`.
 */
export async function startTestRedis(options: { own?: boolean } = {}): Promise<TestRedis> {
  if (process.env.REDIS_URL && !options.own) {
    const url = process.env.REDIS_URL;
    const port = Number(new URL(url).port || 6379);
    const refuse = async () => {
      throw new Error('cannot stop the REDIS_URL server');
    };
    const cannot = () => {
      throw new Error('cannot pause the REDIS_URL server');
    };
    return { url, port, own: false, stop: refuse, restart: refuse, pause: cannot, resume: cannot };
  }
  if (!redisServerBinary) throw new Error(redisUnavailable ?? 'no redis-server binary');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(redisServerBinary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const started = performance.now();
    while (!(await accepts(port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (performance.now() - started > 10_000) throw new Error('redis-server did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    own: true,
    stop,
    restart: launch,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
  };
}

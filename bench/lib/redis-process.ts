import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accepts, freePort } from './ports.js';
import { processCpuSeconds } from './machine.js';

/** A redis-server started for a bench row (no persistence, loopback, a free port). */
export interface RedisProcess {
  readonly url: string;
  readonly pid: number;
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export const redisServerPath: string | undefined = (() => {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
})();



/** Starts redis-server (pinned with taskset to `cpu` when given) and waits until it accepts connections. */
export async function startRedis(cpu?: number): Promise<RedisProcess> {
  if (!redisServerPath) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const child: ChildProcess =
    cpu === undefined ? spawn(redisServerPath, args, { stdio: 'ignore' }) : spawn('taskset', ['-c', String(cpu), redisServerPath, ...args], { stdio: 'ignore' });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const started = performance.now();
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (performance.now() - started > 10_000) throw new Error('redis-server did not start within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerStats } from './run-attack.js';

export interface RunningTarget {
  url: URL;
  apiKey: string;
  secret: string;
  stats(): Promise<ServerStats>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  child: ChildProcess;
}

const script = fileURLToPath(new URL('./target-server.ts', import.meta.url));

/** Starts bench/attack/target-server.ts in its own process (so its CPU and memory are its own). */
export function startTarget(secret = 'attack-secret'): Promise<RunningTarget> {
  const child = spawn(process.execPath, [...(process.env.ATTACK_TARGET_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', script], {
    env: { ...process.env, ATTACK_API_SECRET: secret, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the target server did not start:\n${output}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`the target server exited (${code}):\n${output}`)));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((candidate) => candidate.startsWith('{"url"'));
      if (!line) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      const { url, apiKey } = JSON.parse(line) as { url: string; apiKey: string };
      const exited = new Promise<number | null>((done) => child.once('exit', done));
      resolve({
        url: new URL(url),
        apiKey,
        secret,
        child,
        async stats() {
          const response = await fetch(new URL('/__attack/stats', url));
          return (await response.json()) as ServerStats;
        },
        async stop() {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
  });
}

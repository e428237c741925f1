import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { accepts, freePort } from './ports.js';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds } from './machine.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const live = new Set<ChildProcess>();
let compiled = false;

/**
 * Builds the package (dist/) and compiles bench/servers/ to plain JavaScript
 * (tsconfig.bench-servers.json → bench/out/servers-js/), once per process: every server runs
 * with plain `node`, as users run the package. Through tsx every module, dist/ included, is
 * re-transformed (esbuild's keepNames wraps each closure made per request in a `__name` call),
 * a cost the pending-hooks rows would pay and the tiny hand-written servers hardly (measured
 * within noise once the body reader lost its per-request closures: bench/RESULTS.md).
 */
export function compileServers(): void {
  if (compiled) return;
  // PH_BENCH_KEEP_DIST=1: measure dist/ as it is (a variant edited into the built JavaScript);
  // otherwise every run rebuilds it from src/ and such an edit is silently measured as shipped.
  if (process.env.PH_BENCH_KEEP_DIST === '1') {
    if (!existsSync(join(repoRoot, 'dist', 'index.js'))) throw new Error('PH_BENCH_KEEP_DIST=1 but dist/ is not built: run npm run build first');
  } else execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bench-servers.json'], { cwd: repoRoot, stdio: 'inherit' });
  compiled = true;
}
let cleanupInstalled = false;

/** Kills the servers still running when this process exits or is interrupted. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const child of live) child.kill('SIGKILL');
    live.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}



function serverEnv(options: StartOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  // A serve row measures serve's own defaults, whatever the runner's shell has set.
  if (options.serveArgs) delete env.LOG_LEVEL;
  return { ...env, ...options.env };
}

export interface StartOptions {
  /** Script under bench/servers/, without `.ts`. */
  script: string;
  /** `taskset -c <cpu>` when set. */
  cpu?: number;
  /** Write a V8 CPU profile into this directory when the server exits (`node --cpu-prof`). */
  cpuProfileDir?: string;
  /** Sampling interval of the CPU profile, µs (node's default is 1000). */
  cpuProfileIntervalUs?: number;
  /** Extra node flags (e.g. `--trace-gc`). */
  nodeFlags?: string[];
  /** Give up after this long. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Run `node <serveArgs…> --port 0` instead of bench/servers/<script>.ts — `pending-hooks serve`
   * from the built package, as a user runs it, on a free port picked here; it is ready once it
   * accepts connections. Its per-callback log lines (stdout) go to a `cat > /dev/null` of their own.
   */
  serveArgs?: string[];
  /** Environment on top of this process's (serveArgs servers: without its LOG_LEVEL). */
  env?: Record<string, string>;
  /** Start from this build of the repository (its dist/ and bench/out/servers-js/, relative paths resolved in it) instead of this checkout. */
  from?: string;
}

export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  /** CPU seconds the server has used so far (undefined off Linux). */
  cpuSeconds(): number | undefined;
  /** Its stderr so far (for failure reports). */
  stderr(): string;
  /** Its stdout lines after READY (e.g. `--trace-gc` output), up to 4 MB. */
  stdout(): string;
  stop(): Promise<void>;
}

/** `cat > /dev/null` on the CPU beside the server's (unpinned when the server is). */
function startLogReader(serverCpu: number | undefined): ChildProcess {
  const [command, args] = serverCpu === undefined ? ['cat', []] : ['taskset', ['-c', String(serverCpu === 0 ? 1 : 0), 'cat']];
  return spawn(command, args as string[], { stdio: ['pipe', 'ignore', 'ignore'] });
}

/**
 * Starts `node bench/out/servers-js/servers/<script>.js --port 0` (compiled from
 * bench/servers/<script>.ts by `compileServers`), pinned with taskset when asked, and waits
 * for its `READY <port>` line.
 */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  compileServers();
  const nodeArgs = [...(options.nodeFlags ?? [])];
  if (options.cpuProfileDir) {
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    if (options.cpuProfileIntervalUs) nodeArgs.push(`--cpu-prof-interval=${options.cpuProfileIntervalUs}`);
  }
  // serve logs its address at info only: a serve row gets a free port and is ready once it accepts connections.
  const servePort = options.serveArgs ? await freePort() : undefined;
  if (options.serveArgs) nodeArgs.push(...options.serveArgs, '--port', String(servePort));
  else nodeArgs.push(`bench/out/servers-js/servers/${options.script}.js`, '--port', '0');
  const [command, args] =
    options.cpu === undefined
      ? [process.execPath, nodeArgs]
      : ['taskset', ['-c', String(options.cpu), process.execPath, ...nodeArgs]];
  // serve's stdout (its decision lines) goes to a reader of its own, as a container runtime or
  // process manager reads it, not to this process's busy event loop on the load generator's CPU.
  const logReader = options.serveArgs ? startLogReader(options.cpu) : undefined;
  // taskset execs node: the child's pid is the server's.
  const child: ChildProcess = spawn(command, args as string[], {
    cwd: options.from ?? repoRoot,
    stdio: ['ignore', logReader ? logReader.stdin! : 'pipe', 'pipe'],
    env: serverEnv(options),
  });
  installCleanup();
  live.add(child);
  if (logReader) {
    live.add(logReader);
    logReader.stdin!.destroy(); // the server holds the pipe's write end now
    logReader.once('exit', () => live.delete(logReader));
  }
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  let stdout = '';
  let ready = false;
  let exited = false;
  child.once('exit', () => {
    exited = true;
    live.delete(child);
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.script}: no READY line within ${options.startTimeoutMs ?? 30_000} ms\n${stderr}`));
    }, options.startTimeoutMs ?? 30_000);
    let buffered = '';
    const onData = (data: Buffer) => {
      const chunk = data.toString('utf8');
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        const space = line.indexOf(' ');
        if (space < 0 && !ready) continue;
        const key = line.slice(0, space);
        const value = line.slice(space + 1);
        if (ready) {
          if (stdout.length < 4 * 1024 * 1024) stdout += `${line}\n`;
          continue;
        }
        if (key === 'READY') {
          ready = true;
          clearTimeout(timer);
          resolve(Number(value));
        }
      }
    };
    child.stdout?.on('data', onData);
    if (servePort !== undefined) {
      void (async () => {
        while (!ready && !exited) {
          if (await accepts(servePort)) {
            ready = true;
            clearTimeout(timer);
            resolve(servePort);
            return;
          }
          await new Promise((done) => setTimeout(done, 50));
        }
      })();
    }
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.script} exited before READY (code ${code}, signal ${signal})\n${stderr}`));
    });
  });

  return {
    port,
    pid: child.pid!,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      if (exited) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
      if (logReader && logReader.exitCode === null) await once(logReader, 'exit');
    },
  };
}

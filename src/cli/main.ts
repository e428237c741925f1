import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { MissingDependencyError } from '../optional-dependency.js';
import { HandlersModuleError } from './handlers-module.js';
import { CliRuntimeError, ConfigError } from './serve-config.js';
import { registerBenchCommand } from './bench-command.js';
import { registerEmulateCommand } from './emulate-command.js';
import { registerHooksCommand } from './hooks-command.js';

/** Exit codes: 0 success, 1 a failure at run time, 2 a usage or configuration error. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('pending-hooks')
    .description('Serve, emulate and load-test Stream Chat pending-message callbacks.')
    .version(version, '-v, --version')
    // Usage errors throw instead of exiting, so main() decides the exit code (commander has printed them).
    .exitOverride();
  program
    .command('serve')
    .description('serve the handlers of a module (default export: defineHandlers({...}) or (hooks) => {...})')
    .argument('<module>', 'handlers module (.js, .mjs, or .ts with tsx installed)')
    .option('--config <file>', 'JSON config file (several apps, any setting)')
    .option('--host <host>', 'listen address (env HOST, default 127.0.0.1; 0.0.0.0 in a container)')
    .option('--port <port>', 'listen port (env PORT, default 3000)')
    .option('--timeout-ms <ms>', "the hook's timeout_ms (env TIMEOUT_MS, default 500)")
    .addOption(new Option('--fallback <action>', 'decision when the handler is late or throws (env FALLBACK, default keep_pending)').choices(['commit', 'delete', 'keep_pending']))
    .addOption(new Option('--answer <timing>', 'inline, ack-first or auto (env ANSWER, default auto)').choices(['auto', 'inline', 'ack-first']))
    .option('--answer-within-ms <ms>', 'longest budget answered inline (env ANSWER_WITHIN_MS, default 5000)')
    .option('--mount <path>', 'REST mount, e.g. /stream (env REST_MOUNT, default "")')
    .option('--twirp-prefix <path>', 'Twirp prefix (env TWIRP_PREFIX, default /twirp; "" allowed)')
    .option('--no-twirp', 'serve REST only')
    .option('--base-url <url>', "Stream API base URL (env STREAM_BASE_URL, default Stream's)")
    .option('--body-limit <bytes>', 'largest body accepted (env BODY_LIMIT, default 1048576)')
    .option('--max-in-flight <n>', 'callbacks decided at once, at most, before shedding with 503: the ceiling of the limit learned from latency (env MAX_IN_FLIGHT, default 1000)')
    .option('--fixed-in-flight', 'use --max-in-flight as a fixed bound instead of learning the limit from latency (env FIXED_IN_FLIGHT=1)')
    .option('--max-event-loop-delay-ms <ms>', 'event-loop delay over which callbacks are shed (env MAX_EVENT_LOOP_DELAY_MS, default 150)')
    .option('--api-connections <n>', "sockets to Stream's API per app (env API_CONNECTIONS, default the in-flight bound)")
    .option('--no-metrics', 'do not count Prometheus metrics nor serve GET /metrics')
    .option('--max-connections <n>', 'open connections at most (env MAX_CONNECTIONS, default half the open-file limit, at most 10000)')
    .option('--redis-url <url>', 'share decisions between instances and make ack-first durable (env REDIS_URL)')
    .option('--dry-run', 'answer and log decisions without calling Stream')
    .option('--insecure-no-signature', 'DEVELOPMENT ONLY: accept unsigned callbacks')
    .action(async (module: string, flags) => {
      // Loaded on use: `--help` and the other commands do not load the server.
      const { serveCommand } = await import('./serve-command.js');
      await serveCommand(module, flags);
    });
  registerEmulateCommand(program);
  registerBenchCommand(program);
  registerHooksCommand(program);
  return program;
}

/** What to print for an error, and the exit code. */
export function describeFailure(error: unknown): { message: string | undefined; code: number } {
  if (error instanceof CommanderError) {
    // Help and --version "fail" with code 0; commander has printed everything already.
    return { message: undefined, code: error.exitCode === 0 ? exitCodes.ok : exitCodes.usage };
  }
  if (error instanceof ConfigError || error instanceof MissingDependencyError) return { message: error.message, code: exitCodes.usage };
  if (error instanceof HandlersModuleError || error instanceof CliRuntimeError) return { message: error.message, code: exitCodes.failure };
  const err = error instanceof Error ? error : new Error(String(error));
  return { message: `unexpected failure: ${err.stack ?? err.message}`, code: exitCodes.failure };
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const { message, code } = describeFailure(error);
    if (message !== undefined) process.stderr.write(`pending-hooks: ${message}\n`);
    process.exitCode = code;
    // A failed command must end even if something it opened (a socket, a timer) is still
    // around: give stderr a moment to drain, then exit.
    if (code !== exitCodes.ok) setTimeout(() => process.exit(code), 500).unref();
  }
}

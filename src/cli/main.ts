import { Command, Option } from 'commander';
import { ConfigError } from './serve-config.js';
import { serveCommand } from './serve-command.js';
import { registerBenchCommand } from './bench-command.js';
import { registerEmulateCommand } from './emulate-command.js';

export function buildProgram(): Command {
  const program = new Command('pending-hooks').description('Serve, emulate and load-test Stream Chat pending-message callbacks.');
  program
    .command('serve')
    .description('serve the handlers of a module (default export: defineHandlers({...}) or (hooks) => {...})')
    .argument('<module>', 'handlers module (.js, .mjs or .ts)')
    .option('--config <file>', 'JSON config file (several apps, any setting)')
    .option('--host <host>', 'listen address (env HOST, default 127.0.0.1)')
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
    .option('--max-in-flight <n>', 'callbacks decided at once before shedding with 503 (env MAX_IN_FLIGHT, default 1000)')
    .option('--max-event-loop-delay-ms <ms>', 'event-loop delay over which callbacks are shed (env MAX_EVENT_LOOP_DELAY_MS, default 150)')
    .option('--max-connections <n>', 'open connections at most (env MAX_CONNECTIONS, default half the open-file limit, at most 10000)')
    .option('--redis-url <url>', 'share decisions between instances and make ack-first durable (env REDIS_URL)')
    .option('--dry-run', 'answer and log decisions without calling Stream')
    .option('--insecure-no-signature', 'DEVELOPMENT ONLY: accept unsigned callbacks')
    .action(serveCommand);
  registerEmulateCommand(program);
  registerBenchCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TypeError || error instanceof RangeError) {
      process.stderr.write(`pending-hooks: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { callbackModes, defaultTwirpPrefix, type CallbackMode } from '../emulator/callback-encoding.js';
import { sleep } from '../core/deadline.js';
import { demoApiKey, demoSecret } from '../emulator/demo-app.js';
import type { ScenarioApiFault, ScenarioOptions } from '../emulator/scenario.js';
import { importHandlersModule } from './handlers-module.js';
import { ConfigError } from './serve-config.js';

/**
 * `pending-hooks emulate`: plays Stream against a pending-hooks server — N pending messages at
 * a rate, a share with blocklisted words, a share that makes the classifier too slow, API
 * faults — and ends with a report (committed / deleted / expired / left pending, decision
 * latency percentiles against timeout_ms).
 */

interface EmulateFlags {
  url?: string;
  handlers?: string;
  apiPort: number;
  apiHost: string;
  startDelay: number;
  mode: CallbackMode;
  twirpPrefix: string;
  messages: number;
  rate: number;
  badShare: number;
  slowShare: number;
  apiFaultShare: number;
  apiFaultStatus: number;
  timeoutMs: number;
  fallback: 'commit' | 'delete' | 'keep_pending';
  gzip?: boolean;
  seed?: string;
  apiKey?: string;
  secret?: string;
  json?: string;
  logLevel: string;
  progress: boolean;
}

/** Where the command writes (stdout by default; tests capture it). */
export interface EmulateIo {
  write(text: string): void;
}

function number(what: string, check: (value: number) => boolean, rule: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) throw new InvalidArgumentError(`${what} must be ${rule} (got ${raw})`);
    return value;
  };
}

const fraction = (what: string) => number(what, (v) => v >= 0 && v <= 1, 'a fraction between 0 and 1');
const wholeNumber = (what: string) => number(what, (v) => Number.isInteger(v) && v >= 0, 'a whole number >= 0');

/** Adds `emulate` to the program. */
export function registerEmulateCommand(program: Command, io: EmulateIo = { write: (text) => void process.stdout.write(text) }): void {
  program
    .command('emulate')
    .description("play Stream's side against a pending-hooks server: pending messages, signed callbacks, a mock Stream API; ends with a report")
    .option('--url <server>', "an external server's webhook_url; point its STREAM_BASE_URL at the printed mock API URL")
    .option('--handlers <module>', 'serve this handlers module in-process against the mock API (default: the built-in demo handlers)')
    .option('--api-port <port>', 'port of the mock Stream API (default 0: any free one)', wholeNumber('--api-port'), 0)
    .option('--api-host <host>', 'address the mock Stream API listens on', '127.0.0.1')
    .option('--start-delay <seconds>', 'with --url: wait this long after printing the mock API URL', number('--start-delay', (v) => v >= 0, '>= 0'), 0)
    .addOption(new Option('--mode <mode>', 'callback mode').choices(callbackModes).default('rest'))
    .option('--twirp-prefix <path>', 'Twirp route prefix of the server', defaultTwirpPrefix)
    .option('--messages <n>', 'how many pending messages', wholeNumber('--messages'), 50)
    .option('--rate <per-second>', 'messages per second (0: all at once)', number('--rate', (v) => v >= 0, '>= 0'), 20)
    .option('--bad-share <fraction>', 'share of messages with a blocklisted word', fraction('--bad-share'), 0.2)
    .option('--slow-share <fraction>', 'share of messages marked [slow] (the example classifier misses the budget)', fraction('--slow-share'), 0.1)
    .option('--api-fault-share <fraction>', 'share of commit/delete calls the mock API fails', fraction('--api-fault-share'), 0)
    .option('--api-fault-status <status>', 'status of those failures', number('--api-fault-status', (v) => Number.isInteger(v) && v >= 400 && v <= 599, 'an HTTP error status'), 503)
    .option('--timeout-ms <ms>', "the hook's timeout_ms: still pending after it, a message expires", number('--timeout-ms', (v) => Number.isInteger(v) && v > 0, 'a positive whole number'), 500)
    .addOption(new Option('--fallback <action>', 'in-process server: decision when the handler is late or throws').choices(['commit', 'delete', 'keep_pending']).default('keep_pending'))
    .option('--gzip', 'gzip callback bodies')
    .option('--seed <seed>', 'seed of messages, shares and faults (default: random, printed)')
    .option('--api-key <key>', `app key (env STREAM_API_KEY, default ${demoApiKey})`)
    .option('--secret <secret>', 'app secret (env STREAM_API_SECRET, default a demo secret)')
    .option('--json <file>', 'also write the report as JSON')
    .addOption(new Option('--log-level <level>', 'in-process server log level (stderr)').choices(['silent', 'fatal', 'error', 'warn', 'info', 'debug']).default('error'))
    .option('--no-progress', 'no progress line every second')
    .action(async (flags: EmulateFlags) => {
      await emulate(flags, io);
    });
}

async function emulate(flags: EmulateFlags, io: EmulateIo): Promise<void> {
  if (flags.url !== undefined && flags.handlers !== undefined) throw new ConfigError('emulate: give --url or --handlers, not both');
  if (flags.url !== undefined && !URL.canParse(flags.url)) throw new ConfigError(`emulate: --url must be a URL (got ${flags.url})`);
  // The emulator is loaded when it runs: the other commands of the binary (`serve` above all) never carry it.
  const [{ formatScenarioReport, runScenario }, { demoHandlers }, { neverAborted }] = await Promise.all([
    import('../emulator/scenario.js'),
    import('../emulator/demo-handlers.js'),
    import('../emulator/callback-sender.js'),
  ]);
  const out = (line: string) => io.write(`${line}\n`);
  const apiKey = flags.apiKey ?? process.env.STREAM_API_KEY ?? demoApiKey;
  // Several comma-separated secrets (a rotation) may be configured: Stream signs with the current one.
  const secret = flags.secret ?? process.env.STREAM_API_SECRET?.split(',')[0]?.trim() ?? demoSecret;
  const apiFaults: ScenarioApiFault[] = flags.apiFaultShare > 0 ? [{ share: flags.apiFaultShare, status: flags.apiFaultStatus }] : [];
  const seed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : /^\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed;

  const options: ScenarioOptions = {
    mode: flags.mode,
    twirpPrefix: flags.twirpPrefix,
    messages: flags.messages,
    rate: flags.rate,
    badShare: flags.badShare,
    slowShare: flags.slowShare,
    apiFaults,
    timeoutMs: flags.timeoutMs,
    gzip: flags.gzip === true,
    seed,
    apiKey,
    secret,
    api: { host: flags.apiHost, port: flags.apiPort },
    logLevel: flags.logLevel as ScenarioOptions['logLevel'],
    async onReady({ apiUrl, targetUrl, inProcess }) {
      if (inProcess) {
        out(`mock Stream API on ${apiUrl}; in-process pending-hooks server (${flags.handlers ?? 'built-in demo handlers'}) on ${targetUrl}`);
      } else {
        out(`mock Stream API on ${apiUrl}`);
        out(`point the server at it: STREAM_BASE_URL=${apiUrl} STREAM_API_KEY=${apiKey} STREAM_API_SECRET=… TIMEOUT_MS=${flags.timeoutMs}`);
        if (flags.startDelay > 0) {
          out(`starting in ${flags.startDelay} s…`);
          await sleep(flags.startDelay * 1000, neverAborted);
        }
      }
      out(`sending ${flags.messages} ${flags.mode} callbacks to ${targetUrl} at ${flags.rate > 0 ? `${flags.rate}/s` : 'once'} (seed ${seed})`);
    },
  };
  if (flags.url !== undefined) options.url = flags.url;
  else {
    options.handlers = flags.handlers === undefined ? demoHandlers : ((await importHandlersModule(flags.handlers)) as object);
    options.fallback = flags.fallback;
  }
  if (flags.progress) options.progress = (line) => out(line);

  const report = await runScenario(options);
  out('');
  out(formatScenarioReport(report));
  if (flags.json !== undefined) {
    await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    out(`\nreport written to ${flags.json}`);
  }
}

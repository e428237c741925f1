import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { LoadOptions, LoadResult } from '../loadtest/run-load.js';
import { callbackModes, isCallbackMode, type CallbackMode } from '../emulator/callback-encoding.js';
import { ConfigError } from './serve-config.js';

/**
 * `pending-hooks bench`: the signed load generator. Sends varied, signed PassOnPendingMessage
 * callbacks (REST, Twirp protobuf or Twirp JSON) with a fresh X-Webhook-Id each, prints a
 * progress line every second (stderr), ends with a summary (stdout), and writes
 * `<out>/<name>.json` and a self-contained `<out>/<name>.html`.
 */

/** The options as commander hands them over (strings, validated here). */
export interface BenchCliOptions {
  url: string;
  mode: string;
  connections?: string;
  duration?: string;
  amount?: string;
  rate?: string;
  timeoutMs?: string;
  requestTimeoutMs?: string;
  secret?: string;
  apiKey?: string;
  twirpPrefix?: string;
  poolSize?: string;
  badShare?: string;
  badWord?: string;
  out: string;
  name?: string;
  progress: boolean;
  failOnMiss?: boolean;
}

/** Where output goes (the real process by default; tests pass their own). */
export interface BenchIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export interface BenchOutcome {
  result: LoadResult;
  jsonPath: string;
  htmlPath: string;
  /** What the process should exit with: 1 when nothing was answered, or on a miss with --fail-on-miss. */
  exitCode: number;
}

export const defaultBenchOutDir = 'bench/out';

function integerOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < 1) throw new ConfigError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0) throw new ConfigError(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
  return parsed;
}

function fractionOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !(parsed >= 0 && parsed <= 1)) throw new ConfigError(`${flag} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  return parsed;
}

/** `bench-rest-20250102-030405` from the mode and the start time. */
export function defaultReportName(mode: CallbackMode, startedAt: string): string {
  const stamp = startedAt.replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
  return `bench-${mode}-${stamp}`;
}

/** Turns CLI options into {@link LoadOptions}; throws {@link ConfigError} saying what is wrong. */
export function loadOptionsFromCli(options: BenchCliOptions): LoadOptions {
  if (!options.url) throw new ConfigError('--url is required, e.g. --url http://127.0.0.1:3000');
  if (!isCallbackMode(options.mode)) throw new ConfigError(`--mode must be one of ${callbackModes.join(', ')}, got ${JSON.stringify(options.mode)}`);
  if (options.duration !== undefined && options.amount !== undefined) throw new ConfigError('use either --duration or --amount, not both');
  const secret = options.secret?.trim();
  if (!secret) throw new ConfigError('no secret to sign with: pass --secret or set STREAM_API_SECRET');
  if (options.name !== undefined && !/^[\w.-]+$/.test(options.name)) {
    throw new ConfigError(`--name may only contain letters, digits, '.', '_' and '-', got ${JSON.stringify(options.name)}`);
  }
  return {
    url: options.url,
    mode: options.mode,
    connections: integerOption(options.connections, '--connections'),
    durationS: numberOption(options.duration, '--duration'),
    amount: integerOption(options.amount, '--amount'),
    rate: integerOption(options.rate, '--rate'),
    timeoutMs: numberOption(options.timeoutMs, '--timeout-ms'),
    requestTimeoutMs: numberOption(options.requestTimeoutMs, '--request-timeout-ms'),
    // Like `serve`, a comma-separated STREAM_API_SECRET lists secrets, current first.
    secret: secret.includes(',') ? (secret.split(',')[0] as string).trim() : secret,
    apiKey: options.apiKey?.trim() || undefined,
    twirpPrefix: options.twirpPrefix,
    poolSize: integerOption(options.poolSize, '--pool-size'),
    badShare: fractionOption(options.badShare, '--bad-share'),
    badWord: options.badWord,
  };
}

/** Runs a bench from CLI options: progress, summary, files. Throws {@link ConfigError} on bad input. */
export async function runBenchCommand(options: BenchCliOptions, io: BenchIo = process): Promise<BenchOutcome> {
  const loadOptions = loadOptionsFromCli(options);
  // The load generator and its reports are loaded when a bench runs: `serve` (the same binary) never carries them.
  const [{ LoadOptionsError, runLoad }, { formatProgress, formatSummary }, { renderHtmlReport }] = await Promise.all([
    import('../loadtest/run-load.js'),
    import('../loadtest/report-text.js'),
    import('../loadtest/report-html.js'),
  ]);
  const tty = io.stderr.isTTY === true;
  let progressShown = false;
  const abort = new AbortController();
  const onSigint = () => {
    io.stderr.write(`${progressShown && tty ? '\n' : ''}pending-hooks bench: interrupted, writing what was measured\n`);
    abort.abort();
  };
  process.once('SIGINT', onSigint);

  let result: LoadResult;
  try {
    result = await runLoad({
      ...loadOptions,
      signal: abort.signal,
      onProgress: options.progress
        ? (snapshot) => {
            const line = formatProgress(snapshot);
            // A live line on a terminal; plain lines in CI logs.
            io.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
            progressShown = true;
          }
        : undefined,
    });
  } catch (error) {
    if (error instanceof LoadOptionsError) throw new ConfigError(error.message);
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (progressShown && tty) io.stderr.write('\n');
  }

  const name = options.name ?? defaultReportName(result.mode, result.startedAt);
  const outDir = options.out || defaultBenchOutDir;
  await mkdir(outDir, { recursive: true });
  const jsonPath = join(outDir, `${name}.json`);
  const htmlPath = join(outDir, `${name}.html`);
  await writeFile(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(htmlPath, renderHtmlReport(result));

  io.stdout.write(`${formatSummary(result)}\n  wrote ${jsonPath}\n  wrote ${htmlPath}\n`);

  const missed = result.budgetMisses.total > 0 || result.non2xx > 0 || result.errors > 0;
  const exitCode = result.requests === 0 ? 1 : options.failOnMiss && missed ? 1 : 0;
  return { result, jsonPath, htmlPath, exitCode };
}

/** Adds `bench` to the CLI. */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load-test a pending-message server with signed, varied PassOnPendingMessage callbacks')
    .requiredOption('--url <url>', "the hook's webhook_url, e.g. http://127.0.0.1:3000 (REST posts to {url}/PassOnPendingMessage)")
    .addOption(new Option('--mode <mode>', 'callback encoding').choices([...callbackModes]).default('rest'))
    .option('--connections <n>', 'concurrent connections (default 50)')
    .option('--duration <s>', 'seconds to run (default 10)')
    .option('--amount <n>', 'requests to send, instead of --duration')
    .option('--rate <rps>', 'requests per second, an open loop: latency counts from when each request was due (default: as fast as possible)')
    .option('--timeout-ms <ms>', "the hook's timeout_ms: slower answers count as budget misses (default 500)")
    .option('--request-timeout-ms <ms>', "the client gives up on one request after this (default 6000, Stream's)")
    .addOption(new Option('--secret <secret>', 'API secret the requests are signed with').env('STREAM_API_SECRET'))
    .addOption(new Option('--api-key <key>', 'X-Api-Key sent with each request').env('STREAM_API_KEY'))
    .option('--twirp-prefix <path>', 'Twirp prefix (default /twirp; "" allowed)')
    .option('--pool-size <n>', 'distinct pre-signed messages, sent round-robin (default 2000)')
    .option('--bad-share <fraction>', 'share of messages containing a blocklisted word, 0-1 (default 0)')
    .option('--bad-word <word>', 'the blocklisted word (default badword)')
    .option('--out <dir>', 'directory for <name>.json and <name>.html', defaultBenchOutDir)
    .option('--name <name>', 'report file name without extension (default bench-<mode>-<time>)')
    .option('--no-progress', 'no progress line every second')
    .option('--fail-on-miss', 'exit 1 when there are budget misses, non-2xx answers or errors')
    .addHelpText(
      'after',
      `
Every request is signed (X-Signature over the exact body bytes) and has its own X-Webhook-Id,
so the server's dedupe never answers from memory. Point it at a server in --dry-run (or at a
mock Stream API): the messages do not exist at Stream.

Examples:
  pending-hooks bench --url http://127.0.0.1:3000 --secret s3cret --duration 30
  pending-hooks bench --url http://127.0.0.1:3000 --mode twirp-protobuf --rate 2000 --connections 100
  pending-hooks bench --url http://127.0.0.1:3000 --amount 10000 --timeout-ms 200 --out bench/out --name nightly`,
    )
    .action(async (options: BenchCliOptions) => {
      const outcome = await runBenchCommand(options);
      if (outcome.exitCode !== 0) process.exitCode = outcome.exitCode;
    });
}

import { writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { AfterAnswers } from '../core/after-answers.js';
import { JsonLineBytes, type LineFields } from './json-line-bytes.js';

/** An `info` line waiting to be written: its time and logger bindings are the logging call's. */
interface LaterLine {
  readonly entry: unknown;
  readonly fields: (entry: unknown, out: LineFields) => void;
  readonly msg: string;
  readonly time: number;
  /** The logger's bindings (`,"pid":…`), encoded once. */
  readonly bindings: Uint8Array;
}

/**
 * The logger `createPendingHooks` makes when given none (or only pino options): pino at
 * `LOG_LEVEL` (default info), one JSON line per callback, to stdout through a line batch —
 * lines wait at most 10 ms (or until 16 KiB are waiting) and go out in one synchronous write.
 *
 * Why not pino's own destinations: per line on this machine (bench/RESULTS.md, "Default
 * logging"), pino's default synchronous stdout costs ~4.8 µs of CPU, `pino.destination({ sync:
 * false, minLength: 4096 })` ~5.8 µs (sonic-boom measures the whole pending buffer's UTF-8
 * length on every write), a worker transport ~3.4 µs on the main thread plus the worker's own.
 * A write per event-loop turn was tried first: at moderate rates a turn holds one or two
 * callbacks, and the write (a syscall, a wake-up of the reader) was paid per line. Writes stay
 * synchronous, so no line is ever in flight: `flush()` and the process's `exit` event
 * (process.exit, a fatal error, serve's SIGTERM/SIGINT handling) write out whatever waits. Only
 * a signal nobody handles (SIGKILL) loses the last 10 ms of lines.
 *
 * The decision line is written after the answer (`infoLineLater`): in the event loop's check
 * phase, once every callback of the turn has been answered, field by field into the batch's
 * bytes (`JsonLineBytes`). Building it before cost more than its CPU under a closed loop — each
 * answer left later, and the client's next callback with it (bench/RESULTS.md, "What users run,
 * measured as they run it").
 */
class LineBatch implements DestinationStream {
  private readonly bytes = new JsonLineBytes();
  private scheduled = false;
  private broken = false;
  /** Lines written once this turn's answers are out. */
  private readonly later = new AfterAnswers<LaterLine>((line) => {
    const bytes = this.bytes;
    bytes.ascii('{"level":30,"time":');
    bytes.numberValue(line.time);
    bytes.raw(line.bindings);
    line.fields(line.entry, bytes);
    bytes.string('msg', line.msg);
    bytes.ascii('}\n');
    this.added();
  });

  constructor(
    private readonly fd: number,
    private readonly maxBytes = 16 * 1024,
    private readonly maxDelayMs = 10,
  ) {}

  private readonly due = () => {
    this.scheduled = false;
    this.flush();
  };

  write(line: string): void {
    // Lines logged later than a waiting one keep their order.
    if (!this.later.empty) this.later.drain();
    this.bytes.text(line);
    this.added();
  }

  /** Queues a line whose fields `fields(entry, out)` writes, in the check phase of this turn (or at `flush`). */
  writeLaterLine(line: LaterLine): void {
    this.later.push(line);
  }

  private added(): void {
    if (this.bytes.length >= this.maxBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.due, this.maxDelayMs).unref();
    }
  }

  /** Writes out every waiting line, synchronously. */
  flush(): void {
    if (!this.later.empty) this.later.drain();
    if (this.bytes.length === 0) return;
    const bytes = this.bytes.view();
    this.bytes.clear();
    if (this.broken) return;
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A non-blocking pipe that is full: wait a millisecond for its reader, as pino's own destination does.
        if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
        else {
          // EPIPE (the reader is gone) and the like: stop logging rather than crash the server.
          this.broken = true;
          return;
        }
      }
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
let stdoutBatch: LineBatch | undefined;

/** One batch for stdout per process, so lines of several loggers keep their order. */
function stdoutLines(): LineBatch {
  if (!stdoutBatch) {
    const batch = new LineBatch(1);
    process.once('exit', () => batch.flush());
    stdoutBatch = batch;
  }
  return stdoutBatch;
}

export type { LineFields } from './json-line-bytes.js';

export interface DefaultLogger {
  logger: Logger;
  /** Writes out waiting lines synchronously. */
  flush(): void;
  /**
   * Writes one `info` line whose fields `fields(entry, out)` writes (`out.string(key, value)`, …,
   * in pino's order), exactly as pino would write it through `logger`; absent when options
   * change pino's line format. The per-callback decision line goes this way: pino's serializer
   * (~2 µs a line) walks the object key by key, while the dispatcher knows the fields and their
   * types in advance. `fields` is called once the answers of this event-loop turn are written
   * (in its check phase), or at once by `flush()` or by a line logged meanwhile (order kept).
   * The line's time is the time of this call.
   */
  infoLineLater?: <T>(entry: T, fields: (entry: T, out: LineFields) => void, msg: string) => void;
}

export function createDefaultLogger(options: LoggerOptions | undefined): DefaultLogger {
  const settings: LoggerOptions = { level: process.env.LOG_LEVEL ?? 'info', ...options };
  // A transport (a worker thread) has its own buffering; pino refuses a destination beside it.
  if (settings.transport) return { logger: pino(settings), flush: () => {} };
  const destination = stdoutLines();
  const logger = pino(settings, destination);
  const flush = () => destination.flush();
  // Only pino's own format can be written by hand: any option but the level may change it.
  if (options !== undefined && Object.keys(options).some((key) => key !== 'level')) return { logger, flush };
  const bindings = Buffer.from((logger as unknown as Record<symbol, string | undefined>)[pino.symbols.chindingsSym] ?? '', 'utf8');
  const infoLineLater = <T>(entry: T, fields: (entry: T, out: LineFields) => void, msg: string) => {
    destination.writeLaterLine({ entry, fields: fields as (entry: unknown, out: LineFields) => void, msg, time: Date.now(), bindings });
  };
  return { logger, flush, infoLineLater };
}

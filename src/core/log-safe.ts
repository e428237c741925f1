import type { Logger } from 'pino';

/** The longest client-chosen text (path, webhook id, header value) a log line or answer carries. */
export const maxClientTextChars = 128;

/**
 * Client-chosen text cut to `maxClientTextChars`, saying how much was dropped. pino escapes what
 * it writes (quotes, control characters); this keeps lines short whatever a client sends.
 */
export function clip(value: string | undefined): string | undefined {
  if (value === undefined || value.length <= maxClientTextChars) return value;
  return `${value.slice(0, maxClientTextChars)}…(${value.length - maxClientTextChars} more chars)`;
}

export interface RateLimitedLog {
  /** Writes the line if the rate allows; otherwise counts it. */
  write(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void;
}

/**
 * A log that writes at most `perSecond` lines a second (in bursts of up to as many), for lines a
 * client can cause at will (refused requests): anyone can send requests, and a line per request
 * would let them fill disks and stall the event loop on a slow stdout. What it drops is counted
 * and reported once a second, as one line, while dropping goes on.
 */
export function createRateLimitedLog(logger: Logger, perSecond: number): RateLimitedLog {
  let tokens = perSecond;
  let refilledAt = performance.now();
  let suppressed = 0;
  let reportScheduled = false;

  function report(): void {
    reportScheduled = false;
    if (suppressed === 0) return;
    logger.warn({ suppressed }, `${suppressed} more refused requests were not logged (at most ${perSecond} lines a second)`);
    suppressed = 0;
  }

  return {
    write(level, fields, message) {
      const now = performance.now();
      if (now - refilledAt >= 1000 / perSecond) {
        tokens = Math.min(perSecond, tokens + ((now - refilledAt) * perSecond) / 1000);
        refilledAt = now;
      }
      if (tokens >= 1) {
        tokens -= 1;
        logger[level](fields, message);
        return;
      }
      suppressed += 1;
      if (!reportScheduled) {
        reportScheduled = true;
        setTimeout(report, 1000).unref();
      }
    },
  };
}

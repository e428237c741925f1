import type { LoadResult, ProgressSnapshot } from './run-load.js';

/** Terminal output of a load run: the progress line and the final summary. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export function formatCount(value: number): string {
  return integer.format(value);
}

export function formatRate(value: number): string {
  return value >= 100 ? integer.format(value) : oneDecimal.format(value);
}

/** A latency with sensible precision: `0.842 ms`, `4.20 ms`, `12.8 ms`, `503 ms`, `1.20 s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/** One progress line (no newline): elapsed, req/s, p99, errors. */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const elapsed = Math.round(snapshot.elapsedS);
  const planned =
    snapshot.plannedDurationS !== undefined
      ? `${elapsed}s/${snapshot.plannedDurationS}s`
      : `${elapsed}s, ${formatCount(snapshot.requests)}/${formatCount(snapshot.plannedRequests ?? 0)}`;
  return [
    `[${planned}]`,
    `${formatRate(snapshot.rps)} req/s`,
    `p50 ${formatMs(snapshot.p50Ms)}`,
    `p99 ${formatMs(snapshot.p99Ms)}`,
    `max ${formatMs(snapshot.maxMs)}`,
    `errors ${formatCount(snapshot.errors)}`,
    `non-2xx ${formatCount(snapshot.non2xx)}`,
    `budget misses ${formatCount(snapshot.budgetMisses)}`,
  ].join('  ');
}

/** Short advice for the usual causes of a bad run. */
export function hintsFor(result: LoadResult): string[] {
  const hints: string[] = [];
  if (result.requests === 0 && result.errors > 0) {
    hints.push(`no answers at all: is a server listening at ${result.url}?`);
  }
  const codes = result.errorCodes;
  if ((codes.invalid_signature ?? 0) > 0 || (codes.unauthenticated ?? 0) > 0) {
    hints.push("signatures were refused: is --secret (STREAM_API_SECRET) the server's secret?");
  }
  if ((codes.unknown_api_key ?? 0) > 0) hints.push("the api key was refused: pass the server's --api-key (STREAM_API_KEY)");
  if ((codes.not_found ?? 0) > 0 || (codes.bad_route ?? 0) > 0) {
    hints.push('the route was not found: check --url (REST mount) and --twirp-prefix');
  }
  if (result.answers.undecodable > 0) hints.push(`${formatCount(result.answers.undecodable)} 2xx answers could not be read`);
  if (result.clientCpuPercent >= 90) {
    hints.push(
      `the load generator used ${Math.round(result.clientCpuPercent)}% of a CPU core: it may be the bottleneck (run it on another machine or core)`,
    );
  }
  return hints;
}

/** The readable summary printed at the end of a run. */
export function formatSummary(result: LoadResult): string {
  const lat = result.latencyMs;
  const statuses = Object.entries(result.statusCounts)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status} × ${formatCount(count)}`)
    .join(' · ');
  const codes = Object.entries(result.errorCodes)
    .sort((a, b) => b[1] - a[1])
    .map(([code, count]) => `${code} × ${formatCount(count)}`)
    .join(' · ');
  const misses = result.budgetMisses;
  const pace = result.rate === null ? 'as fast as possible' : `${formatCount(result.rate)} req/s asked`;
  const length = result.amount === null ? `${result.durationS.toFixed(1)} s` : `${formatCount(result.amount)} requests in ${result.durationS.toFixed(1)} s`;
  const verdict = misses.total === 0 && result.non2xx === 0 && result.errors === 0 ? 'OK' : 'MISSES';
  const lines = [
    `pending-hooks bench: ${result.mode} → ${result.target}`,
    `  ${formatCount(result.connections)} connections · ${length} · ${pace} · timeout_ms ${result.timeoutMs} · pool of ${formatCount(result.poolSize)} signed requests`,
    '',
    `  requests     ${formatCount(result.requests)} answered (${formatRate(result.rps)} req/s), ${formatCount(result.sent)} sent`,
    result.requests === 0
      ? '  latency      no answers'
      : `  latency      p50 ${formatMs(lat.p50)} · p90 ${formatMs(lat.p90)} · p99 ${formatMs(lat.p99)} · p99.9 ${formatMs(lat.p999)} · max ${formatMs(lat.max)}  (mean ${formatMs(lat.mean)})`,
    `  status       ${statuses === '' ? 'none' : statuses}`,
    `  non-2xx      ${formatCount(result.non2xx)}${codes === '' ? '' : `  (${codes})`}`,
    `  errors       ${formatCount(result.errors)}  (client timeouts after ${formatMs(result.requestTimeoutMs)}: ${formatCount(result.timeouts)})`,
    `  answers      commit ${formatCount(result.answers.commit)} · delete ${formatCount(result.answers.delete)} · keep_pending ${formatCount(result.answers.keep_pending)} · accepted (ack-first) ${formatCount(result.answers.accepted)}`,
    `  budget       ${formatCount(misses.total)} misses: ${formatCount(misses.slowerThanBudget)} answers slower than ${formatMs(result.timeoutMs)}, ${formatCount(misses.timedOutAnswers)} answered timed_out: true  → ${verdict}`,
    `  client       Node ${result.node} · ${result.cpu.model} × ${result.cpu.cores} · load generator CPU ${Math.round(result.clientCpuPercent)}% of a core`,
  ];
  for (const hint of hintsFor(result)) lines.push(`  hint: ${hint}`);
  return `${lines.join('\n')}\n`;
}

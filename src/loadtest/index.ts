/**
 * The signed load generator, imported as `pending-hooks/loadtest` (what `pending-hooks bench`
 * runs, and what bench/ drives its rows with). It needs the optional peer dependency
 * hdr-histogram-js (its latency summary), loaded when a run starts: `npm install hdr-histogram-js`.
 */
export {
  defaultBudgetMs,
  defaultConnections,
  defaultDurationS,
  defaultRequestTimeoutMs,
  LoadOptionsError,
  resolveLoadOptions,
  runLoad,
  type HistogramBucket,
  type LatencySummaryMs,
  type LoadOptions,
  type LoadResult,
  type ProgressSnapshot,
  type SeriesPoint,
} from './run-load.js';
export { driveLoad, type DriveOptions, type DriveResult, type DriverAnswer, type DriverRequest } from './load-driver.js';
export {
  emptyLatencySummary,
  loadLatencyRecorders,
  type LatencyRecorder,
  type LatencyRecorderFactory,
  type LatencySummary,
} from './latency.js';
export { formatProgress, formatSummary } from './report-text.js';
export { renderHtmlReport } from './report-html.js';
export { callbackModes, isCallbackMode, type CallbackMode } from '../emulator/callback-encoding.js';
export {
  createSignedRequestPool,
  type SignedRequestPool,
  type SignedRequestPoolOptions,
} from './signed-requests.js';
export { MissingDependencyError } from '../optional-dependency.js';

/**
 * The signed load generator, imported as `pending-hooks/loadtest` (what `pending-hooks bench`
 * runs). It needs the optional peer dependencies autocannon and hdr-histogram-js, loaded when a
 * run starts: `npm install autocannon hdr-histogram-js`.
 */
export {
  defaultBudgetMs,
  defaultConnections,
  defaultDurationS,
  defaultRequestTimeoutMs,
  LoadOptionsError,
  readAnswer,
  resolveLoadOptions,
  runLoad,
  type HistogramBucket,
  type LatencySummaryMs,
  type LoadOptions,
  type LoadResult,
  type ProgressSnapshot,
  type SeriesPoint,
} from './run-load.js';
export { formatProgress, formatSummary } from './report-text.js';
export { renderHtmlReport } from './report-html.js';
export { callbackModes, isCallbackMode, type CallbackMode } from '../emulator/callback-encoding.js';
export {
  createSignedRequestPool,
  type SignedRequestPool,
  type SignedRequestPoolOptions,
} from './signed-requests.js';
export { MissingDependencyError } from '../optional-dependency.js';

/**
 * The emulator of Stream's side: a mock of Stream's server API, a callback sender that delivers
 * pending-message callbacks as Stream does, and realistic sample messages.
 * Imported as `pending-hooks/emulator`.
 */
export {
  createMockStreamApi,
  notPendingErrorBody,
  streamErrorBody,
  updateEventHooks,
  type AddPendingMessageOptions,
  type EventHook,
  type MessageState,
  type MockAction,
  type MockApp,
  type MockCall,
  type MockFault,
  type MockStreamApi,
  type MockStreamApiOptions,
} from './mock-stream-api.js';
export {
  callbackUrl,
  isRetryableCallbackStatus,
  sendCallback,
  streamDeliveryRules,
  type CallbackAttempt,
  type CallbackMode,
  type CallbackResult,
  type SendCallbackOptions,
} from './callback-sender.js';
export {
  sampleMessage,
  sampleMessages,
  samplePayload,
  seededRandom,
  type SamplePayloadOptions,
  type Seed,
} from './sample-messages.js';
export {
  callbackModes,
  callbackPath,
  decodeAnswerBody,
  defaultTwirpPrefix,
  encodeCallback,
  isCallbackMode,
  readPassOnAnswer,
  signCallbackBody,
  type CallbackAnswer,
  type EncodedCallback,
} from './callback-encoding.js';
export {
  defaultBadWords,
  defaultSlowMarker,
  formatProgress,
  formatScenarioReport,
  runScenario,
  scenarioMessageKinds,
  type OutcomeCounts,
  type ScenarioApiFault,
  type ScenarioMessageKind,
  type ScenarioMessageRecord,
  type ScenarioOptions,
  type ScenarioProgress,
  type ScenarioReport,
  type ScenarioServerContext,
} from './scenario.js';
export { emptyLatencySummary, exactLatencyRecorder, summarizeLatencies, type LatencyRecorder, type LatencyRecorderFactory, type LatencySummary } from './latency-summary.js';
export { demoHandlers } from './demo-handlers.js';

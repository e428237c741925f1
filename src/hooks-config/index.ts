/**
 * Stream's `event_hooks` (app settings) checked and updated safely: validation as the
 * "Multi-Event Hooks" tables say, a plan between the current and the desired lists, and an apply
 * step that refuses to delete hooks unless told to. Imported as `pending-hooks/hooks-config`;
 * the `pending-hooks hooks validate|diff|apply` commands are built on it.
 */
export { validateEventHooks, validateEventHook, maxPendingMessageHooks, type EventHooksValidation } from './validate-event-hooks.js';
export { planEventHooks, planHasChanges, eventHooksUpdateFor, changedFields } from './plan-event-hooks.js';
export type { EventHooksPlan, FieldChange, PlannedAddition, PlannedChange, PlannedDeletion, PlannedKeep } from './plan-event-hooks.js';
export { applyEventHooks, diffEventHooks, type ApplyEventHooksOptions, type ApplyEventHooksResult } from './apply-event-hooks.js';
export { hooksAfterUpdate, type EventHooksUpdate, type HooksAfterUpdate, type StoredEventHook } from './hooks-after-update.js';
export { readHooksDocument, replaceHooksInDocument, fixMisspelledFields, type FieldRename, type HooksDocument, type HooksDocumentShape } from './hooks-document.js';
export { formatPlan, formatProblems, formatValidationSummary, planSummary } from './format-report.js';
export { countProblems, type HooksProblem, type ProblemCode, type ProblemSeverity } from './problem.js';
export {
  awsAuthTypes,
  callbackModes,
  hookSchemas,
  hookTypes,
  pendingMessageHookSchema,
  snsHookSchema,
  sqsHookSchema,
  webhookHookSchema,
  type AwsAuthType,
  type CallbackMode,
  type EventHook,
  type HookType,
  type PendingMessageHook,
  type SnsHook,
  type SqsHook,
  type WebhookHook,
} from './hook-schemas.js';
export { createAppSettingsClient, AppSettingsRequestError, type AppSettingsApi, type AppSettingsClientOptions } from '../stream-api/app-settings-client.js';

// Building blocks: one hook's field names, the rules across a list.
export { correctionFor } from './field-names.js';
export { duplicateIdProblems, pendingHookCountProblems } from './validate-event-hooks.js';

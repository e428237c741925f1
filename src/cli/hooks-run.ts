import { readFile, writeFile } from 'node:fs/promises';
import {
  applyEventHooks,
  countProblems,
  diffEventHooks,
  fixMisspelledFields,
  formatPlan,
  formatProblems,
  formatValidationSummary,
  planSummary,
  readHooksDocument,
  replaceHooksInDocument,
  validateEventHooks,
  type EventHooksValidation,
  type FieldRename,
} from '../hooks-config/index.js';
import { AppSettingsRequestError, createAppSettingsClient, type AppSettingsApi } from '../stream-api/app-settings-client.js';
import { CliRuntimeError, ConfigError } from './serve-config.js';

/** Flags of `hooks diff` and `hooks apply` that say which app to talk to. */
export interface HooksAppFlags {
  apiKey?: string;
  baseUrl?: string;
  json?: boolean;
}

export interface HooksValidateFlags {
  fix?: boolean;
  json?: boolean;
}

export interface HooksApplyFlags extends HooksAppFlags {
  allowDelete?: boolean;
  explicitDeletion?: boolean;
}

/** Where the commands write their report (stdout by default). */
export interface HooksIo {
  write(text: string): void;
}

/** The parsed hooks file and its `event_hooks`. */
async function readHooksFile(file: string) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const found = readHooksDocument(document);
  if (!found.ok) throw new ConfigError(`${file}: ${found.reason}`);
  return { document, shape: found.shape, hooks: found.hooks };
}

function printJson(io: HooksIo, value: unknown) {
  io.write(`${JSON.stringify(value, null, 2)}\n`);
}

function invalidFile(file: string, validation: EventHooksValidation): ConfigError {
  const { error } = countProblems(validation.problems);
  return new ConfigError(`${file} is not valid (${error} error${error === 1 ? '' : 's'}): nothing was sent to Stream`);
}

/** `hooks validate <file> [--fix] [--json]`. */
export async function validateHooksFile(file: string, flags: HooksValidateFlags, io: HooksIo): Promise<void> {
  const { document, shape, hooks } = await readHooksFile(file);
  let list = hooks;
  let renamed: FieldRename[] = [];
  if (flags.fix && Array.isArray(hooks)) {
    const fixed = fixMisspelledFields(hooks);
    renamed = fixed.renamed;
    list = fixed.hooks;
    if (renamed.length > 0) await writeFile(file, `${JSON.stringify(replaceHooksInDocument(document, shape, fixed.hooks), null, 2)}\n`);
  }
  const validation = validateEventHooks(list);
  if (flags.json) {
    printJson(io, { file, valid: validation.valid, problems: validation.problems, fixed: renamed });
  } else {
    for (const { path, from, to } of renamed) io.write(`fixed    ${path}.${from}: renamed to ${to}\n`);
    for (const line of formatProblems(validation.problems)) io.write(`${line}\n`);
    io.write(`${formatValidationSummary(file, validation.problems)}\n`);
  }
  if (!validation.valid) {
    const hint = !flags.fix && validation.problems.some((problem) => problem.code === 'misspelled_field') ? ' (misspelled fields: --fix renames them)' : '';
    throw new ConfigError(`${file} is not valid${hint}`);
  }
}

/** Key, secret and base URL: flags, then the environment (the secret only from the environment, kept out of `ps`). */
function appSettingsApi(flags: HooksAppFlags, env: NodeJS.ProcessEnv): AppSettingsApi {
  const apiKey = flags.apiKey ?? env.STREAM_API_KEY ?? '';
  // Several comma-separated secrets (a rotation) may be configured: the current one is first.
  const secret = env.STREAM_API_SECRET?.split(',')[0]?.trim() ?? '';
  if (apiKey === '' || secret === '') throw new ConfigError('no Stream app: set STREAM_API_KEY (or --api-key) and STREAM_API_SECRET');
  const baseUrl = flags.baseUrl ?? (env.STREAM_BASE_URL || undefined);
  if (baseUrl !== undefined && !(URL.canParse(baseUrl) && /^https?:$/.test(new URL(baseUrl).protocol))) {
    throw new ConfigError(`--base-url / STREAM_BASE_URL must be an http(s) URL (got ${JSON.stringify(baseUrl)})`);
  }
  return createAppSettingsClient({ apiKey, secret, ...(baseUrl === undefined ? {} : { baseUrl }) });
}

/** Runs `work` against Stream; its request failures become one-line run-time failures (exit 1). */
async function withStream<T>(api: AppSettingsApi, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppSettingsRequestError) throw new CliRuntimeError(error.message);
    throw error;
  } finally {
    await api.close();
  }
}

/** `hooks diff <file>`: what apply would do. Exit 0 whatever the differences. */
export async function diffHooksFile(file: string, flags: HooksAppFlags, env: NodeJS.ProcessEnv, io: HooksIo): Promise<void> {
  const { hooks } = await readHooksFile(file);
  const api = appSettingsApi(flags, env);
  const { validation, plan } = await withStream(api, () => diffEventHooks(api, hooks));
  if (flags.json) printJson(io, { file, valid: validation.valid, problems: validation.problems, plan: plan === undefined ? null : planSummary(plan) });
  else {
    for (const line of formatProblems(validation.problems)) io.write(`${line}\n`);
    if (plan !== undefined) {
      for (const line of formatPlan(plan)) io.write(`${line}\n`);
      if (plan.deleted.length > 0) io.write('apply refuses to delete hooks without --allow-delete\n');
    }
  }
  if (plan === undefined) throw invalidFile(file, validation);
}

/** `hooks apply <file> [--allow-delete] [--explicit-deletion]`. */
export async function applyHooksFile(file: string, flags: HooksApplyFlags, env: NodeJS.ProcessEnv, io: HooksIo): Promise<void> {
  const { hooks } = await readHooksFile(file);
  const api = appSettingsApi(flags, env);
  const result = await withStream(api, () => applyEventHooks(api, hooks, { allowDelete: flags.allowDelete === true, explicitDeletion: flags.explicitDeletion === true }));
  const form = flags.explicitDeletion ? 'explicit_event_hooks_deletion (changes only)' : 'the whole list';
  if (flags.json) {
    printJson(io, {
      file,
      status: result.status,
      problems: result.validation.problems,
      plan: result.status === 'invalid' ? null : planSummary(result.plan),
      ...(result.status === 'applied' ? { ids: result.hooks.map((hook) => ({ id: hook.id, hook_type: hook.hook_type })) } : {}),
    });
  } else {
    for (const line of formatProblems(result.validation.problems)) io.write(`${line}\n`);
    if (result.status !== 'invalid') for (const line of formatPlan(result.plan)) io.write(`${line}\n`);
    if (result.status === 'unchanged') io.write('nothing to apply: Stream already has these hooks\n');
    if (result.status === 'applied') {
      io.write(`applied: PATCH /app with ${form}\n`);
      const before = new Set([...result.plan.unchanged, ...result.plan.changed].map((hook) => hook.id));
      for (const hook of result.hooks) if (!before.has(hook.id as string)) io.write(`created  ${String(hook.id)} ${String(hook.hook_type)}\n`);
    }
  }
  if (result.status === 'invalid') throw invalidFile(file, result.validation);
  if (result.status === 'refused') {
    const ids = result.plan.deleted.map((hook) => hook.id).join(', ');
    throw new ConfigError(`refusing to delete ${result.plan.deleted.length} hook(s) the file leaves out (${ids}): add them to the file, or pass --allow-delete; nothing was changed`);
  }
}

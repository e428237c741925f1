import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hasEventHandlers, registerHandlers } from '../define-handlers.js';
import { registerTsx } from '../optional-dependency.js';
import type { PendingHooks } from '../pending-hooks.js';
import { ConfigError } from './serve-config.js';

/**
 * The user's handlers module failed: it threw while loading or while registering its
 * handlers. The message carries its stack, trimmed to the user's own frames.
 */
export class HandlersModuleError extends Error {
  override readonly name = 'HandlersModuleError';
  constructor(path: string, stage: 'loading' | 'registering its handlers', cause: unknown) {
    super(`the handlers module ${path} failed while ${stage}:\n${userStack(cause)}`, { cause });
  }
}

const ownRoot = fileURLToPath(new URL('../../', import.meta.url));
const ownDirs = ['src/', 'dist/', 'bin/'].flatMap((dir) => [`${ownRoot}${dir}`, pathToFileURL(`${ownRoot}${dir}`).href]);

/** An error's stack with node's, the dependencies' and pending-hooks' own frames left out. */
export function userStack(error: unknown): string {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `thrown: ${String(error)}`;
  const lines = text.split('\n');
  const first = lines.findIndex((line) => /^\s+at /.test(line));
  if (first < 0) return text;
  const frames = lines.slice(first).filter((line) => {
    if (!/^\s+at /.test(line)) return false;
    if (/\(node:|^\s+at node:|\(<anonymous>\)|\/node_modules\//.test(line)) return false;
    return !ownDirs.some((dir) => line.includes(dir));
  });
  return [...lines.slice(0, first), ...frames].join('\n');
}

/**
 * Imports a handlers module. TypeScript modules load through tsx (an optional dependency);
 * JavaScript ones need nothing. A missing file is a {@link ConfigError}; a module that
 * throws is a {@link HandlersModuleError}.
 */
export async function importHandlersModule(path: string): Promise<unknown> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new ConfigError(`handlers module not found: ${path} (looked for ${absolute})`);
  if (/\.[cm]?tsx?$/.test(absolute)) {
    await registerTsx(`the TypeScript handlers module ${path} (or compile it to JavaScript)`);
  }
  try {
    return await import(pathToFileURL(absolute).href);
  } catch (error) {
    throw new HandlersModuleError(path, 'loading', error);
  }
}

/** Checks the module's default export and registers it; failures in the user's code keep their stack. */
export async function registerHandlersModule(hooks: PendingHooks, module: unknown, path: string): Promise<void> {
  const exported = (module as { default?: unknown }).default ?? module;
  const object = exported as { PassOnPendingMessage?: unknown; events?: unknown } | undefined;
  if (typeof exported !== 'function' && typeof object?.PassOnPendingMessage !== 'function' && !hasEventHandlers(object?.events)) {
    throw new ConfigError(
      `${path}: the default export must be defineHandlers({ PassOnPendingMessage(event, ctx) { … } }), defineHandlers({ events: { 'message.new'(event, ctx) { … } } }) or a function (hooks) => { hooks.on(…) }`,
    );
  }
  try {
    await registerHandlers(hooks, module, path);
  } catch (error) {
    throw new HandlersModuleError(path, 'registering its handlers', error);
  }
}

/**
 * The tools' dependencies (hdr-histogram-js for the load generator's latency summary, tsx for
 * TypeScript handler modules) are optional peer dependencies: a service that only serves
 * callbacks does not install them. A tool that needs one it cannot find says so in one line.
 */
export class MissingDependencyError extends Error {
  override readonly name = 'MissingDependencyError';
  constructor(
    readonly packages: readonly string[],
    what: string,
  ) {
    super(`${what} needs ${packages.join(' and ')}, an optional dependency of pending-hooks that is not installed: npm install ${packages.join(' ')}`);
  }
}

/** `tsx` from `tsx/esm/api`, `@scope/name` from `@scope/name/sub`. */
function packageOf(specifier: string): string {
  return specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/** True when `error` is node failing to find the package `name` itself (not something inside it). */
export function isPackageNotFound(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}'`);
}

/** Imports an optional dependency, or throws {@link MissingDependencyError} naming every one `what` needs. */
export async function importOptional<T>(specifier: string, what: string, alongWith: readonly string[] = []): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    const name = packageOf(specifier);
    if (isPackageNotFound(error, name)) throw new MissingDependencyError([name, ...alongWith.filter((other) => other !== name)], what);
    throw error;
  }
}

/**
 * Lets `import()` load TypeScript through tsx, for ES modules and for CommonJS ones (a `.ts`
 * file outside a `"type": "module"` package is CommonJS to node).
 */
export async function registerTsx(what: string): Promise<void> {
  const [esm, cjs] = await Promise.all([
    importOptional<{ register(): unknown }>('tsx/esm/api', what),
    importOptional<{ register(): unknown }>('tsx/cjs/api', what),
  ]);
  esm.register();
  cjs.register();
}

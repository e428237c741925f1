/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepare`), the tarball
 * (packed from a copy of the working tree) installed into throwaway projects outside this repository, and nothing of the repository's
 * sources or tsx at run time. A plain JavaScript project runs the README's five-line server
 * with `node`; a TypeScript project (NodeNext) compiles the same server against the mock Stream
 * API, a fastify app of its own with the plugin, and every file of examples/ with the repo's
 * tsc, then runs them with `node`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.setConfig({ testTimeout: 40_000 });

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;
const tsc = join(repo, 'node_modules/.bin/tsc');
const key = 'pkg-key';
const secret = 'pkg-secret-7d1e';

let dir: string;
let tarball: string;
const jsProject = () => join(dir, 'js-app');
const tsProject = () => join(dir, 'ts-app');
const children: ChildProcess[] = [];

/** `npm install` of the tarball; the cache is warm from the repo's own `npm ci`, the registry is the fallback. */
async function install(project: string, extra: string[] = []): Promise<void> {
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...extra], { cwd: project });
}

function start(command: string, args: string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string; waitFor(pattern: RegExp): Promise<RegExpExecArray> } {
  const child = spawn(command, args, { cwd, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => output,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within 20 s:\n${output}`)), 20_000);
        const check = () => {
          const match = pattern.exec(output);
          if (match) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(match);
          }
        };
        child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}:\n${output}`)));
        listeners.add(check);
        check();
      });
    },
  };
}

/** One callback signed as Stream signs it: hex HMAC-SHA256 of the raw body with the app secret. */
async function signedCallback(url: string, text: string, id = `pkg-${randomUUID()}`): Promise<{ status: number; body: unknown }> {
  const body = JSON.stringify({ message: { id, text, type: 'regular', user: { id: 'ann' } }, metadata: {}, request_info: { type: 'client' } });
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': key,
      'x-signature': createHmac('sha256', secret).update(body).digest('hex'),
      'x-webhook-id': randomUUID(),
    },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** The README's JavaScript five-line server, exactly as printed there. */
async function readmeSnippet(): Promise<string> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A handler in five lines'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README: no ```js block under "A handler in five lines"');
  return match[1]!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ph-package-'));
  // Packed from a copy of the working tree (its node_modules linked), so this repo's own dist/ —
  // which the benchmark's serve rows run — is never rebuilt under another test's feet.
  const copy = join(dir, 'repo');
  const { stdout: listed } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repo, maxBuffer: 16 * 1024 * 1024 });
  for (const file of listed.split('\0').filter(Boolean)) {
    await mkdir(dirname(join(copy, file)), { recursive: true });
    await cp(join(repo, file), join(copy, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet in the index
    });
  }
  await symlink(join(repo, 'node_modules'), join(copy, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
  tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);

  await mkdir(jsProject());
  await writeFile(join(jsProject(), 'package.json'), JSON.stringify({ name: 'js-app', private: true, type: 'module' }));
  await writeFile(join(jsProject(), 'server.mjs'), await readmeSnippet());
  await writeFile(
    join(jsProject(), 'loaded.mjs'),
    // Records every module file loaded: ESM through a loader hook, CommonJS from require's cache.
    `import { register, createRequire } from 'node:module';
const seen = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => seen.push(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent('let port; export function initialize(data) { port = data.port; } export async function load(url, context, next) { port.postMessage(url); return next(url, context); }'), { data: { port: port2 }, transferList: [port2] });
await import(process.argv[2]);
await new Promise((resolve) => setTimeout(resolve, 100));
const files = [...seen, ...Object.keys(createRequire(import.meta.url).cache)];
process.stdout.write(JSON.stringify(files));
`,
  );

  await mkdir(join(tsProject(), 'src'), { recursive: true });
  await writeFile(join(tsProject(), 'package.json'), JSON.stringify({ name: 'ts-app', private: true, type: 'module' }));
  await writeFile(
    join(tsProject(), 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', rootDir: '.', types: ['node'], skipLibCheck: false },
      include: ['src', 'examples'],
    }),
  );
  await writeFile(
    join(tsProject(), 'src/main.ts'),
    `import Fastify from 'fastify';
import { createPendingHooks, createServer, decide, pendingHooksPlugin, type PendingMessageEvent } from 'pending-hooks';
import { createMockStreamApi, sampleMessage } from 'pending-hooks/emulator';

const apiKey = process.env.STREAM_API_KEY!;
const apiSecret = process.env.STREAM_API_SECRET!;
const stream = await createMockStreamApi({ apps: [{ apiKey, secret: apiSecret }] });
for (const id of ['ts-five-line', 'ts-plugin']) stream.addPendingMessage(sampleMessage({ id, text: 'hello' }));
const policy = (event: PendingMessageEvent) => (/badword/i.test(event.message.text ?? '') ? decide.delete('blocklist') : decide.commit());

// The README's five-line server, applying decisions at the mock Stream API.
const hooks = createPendingHooks({ apiKey, apiSecret, api: { baseUrl: stream.url } });
hooks.on('PassOnPendingMessage', policy);
const standalone = await createServer(hooks, { handleSignals: true });
const standaloneUrl = await standalone.listen({ host: '127.0.0.1', port: 0 });

// An app of the user's own, with the plugin mounted under /stream beside its routes.
const app = Fastify();
app.get('/state/:id', async (request) => ({ state: stream.stateOf((request.params as { id: string }).id) }));
const mounted = createPendingHooks({ apiKey, apiSecret, api: { baseUrl: stream.url }, logger: { level: 'warn' } });
mounted.on('PassOnPendingMessage', policy);
await app.register(pendingHooksPlugin, { hooks: mounted, prefix: '/stream' });
const appUrl = await app.listen({ host: '127.0.0.1', port: 0 });
console.log('READY ' + JSON.stringify({ standaloneUrl, appUrl }));
`,
  );
  await cp(join(repo, 'examples'), join(tsProject(), 'examples'), { recursive: true });

  await Promise.all([install(jsProject()), install(tsProject(), ['@types/node@^20.19'])]);
  await run(tsc, ['-p', tsProject()]);
}, 180_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  if (dir && !process.env.KEEP_PKG) await rm(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships dist/ (JS, .d.ts, maps), proto/, README and LICENSE, and no sources, tests or bench', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((file) => file.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/cli/bin.js', 'dist/emulator/index.js', 'dist/loadtest/index.js', 'proto/pendingmessage/v1/pending_message.proto']));
    expect(files.filter((file) => !/^(dist|proto)\/|^(package\.json|README\.md|LICENSE)$/.test(file))).toEqual([]);
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs without the tools\' optional dependencies', async () => {
    const installed = await readdir(join(jsProject(), 'node_modules'));
    for (const tool of ['tsx', 'hdr-histogram-js', 'esbuild']) expect(installed, tool).not.toContain(tool);
    expect(installed).toContain('pending-hooks');
  });

  it('JavaScript: the README five-line server runs with node and answers a signed callback', async () => {
    const server = start(process.execPath, ['server.mjs'], jsProject(), { STREAM_API_KEY: key, STREAM_API_SECRET: secret, PORT: '0' });
    const [, url] = await server.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    expect(await signedCallback(`${url}/PassOnPendingMessage`, 'buy badword now')).toEqual({ status: 200, body: { action: 'delete', reason: 'blocklist', timed_out: false } });
    expect(await signedCallback(`${url}/PassOnPendingMessage`, 'hello')).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
    await server.waitFor(/"action":"commit".*"msg":"decision"/);
    expect(server.output()).toMatch(/DRY RUN/);
  });

  it('importing pending-hooks loads the callback path only: no CLI, emulator, load generator, tsx, nor prom-client or ioredis until asked for', async () => {
    const { stdout } = await run(process.execPath, ['loaded.mjs', 'pending-hooks'], { cwd: jsProject() });
    const files = JSON.parse(stdout) as string[];
    expect(files.some((file) => file.includes('/pending-hooks/dist/pending-hooks.js'))).toBe(true);
    const unwanted = files.filter((file) => /\/pending-hooks\/dist\/(cli|emulator|loadtest)\/|\/node_modules\/(tsx|esbuild|hdr-histogram-js|commander|prom-client|ioredis)\//.test(file));
    expect(unwanted).toEqual([]);
  });

  it('importing pending-hooks/emulator loads neither the CLI, the load generator nor tsx', async () => {
    const { stdout } = await run(process.execPath, ['loaded.mjs', 'pending-hooks/emulator'], { cwd: jsProject() });
    const files = JSON.parse(stdout) as string[];
    expect(files.some((file) => file.includes('/pending-hooks/dist/emulator/mock-stream-api.js'))).toBe(true);
    expect(files.filter((file) => /\/pending-hooks\/dist\/(cli|loadtest)\/|\/node_modules\/(tsx|esbuild|hdr-histogram-js|commander)\//.test(file))).toEqual([]);
  });

  it('`pending-hooks serve` loads neither the emulator nor the load generator (they load when their command runs)', async () => {
    // The same loader hook as loaded.mjs, preloaded into the CLI: the list is written when serve exits.
    await writeFile(
      join(jsProject(), 'record.mjs'),
      (await readFile(join(jsProject(), 'loaded.mjs'), 'utf8'))
        .replace(/await import\(process\.argv\[2\]\);[\s\S]*$/, '')
        .concat("import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync('serve-loaded.json', JSON.stringify(seen)));\n"),
    );
    await writeFile(join(jsProject(), 'serve-handlers.mjs'), 'export default { PassOnPendingMessage: () => ({ action: "commit" }) };\n');
    const bin = join(jsProject(), 'node_modules/pending-hooks/dist/cli/bin.js');
    const server = start(process.execPath, ['--import', './record.mjs', bin, 'serve', 'serve-handlers.mjs', '--dry-run', '--port', '0'], jsProject(), { STREAM_API_KEY: key, STREAM_API_SECRET: secret });
    const [, url] = await server.waitFor(/pending-hooks serving on (http:\/\/[\d.:]+)/);
    expect(await signedCallback(`${url}/PassOnPendingMessage`, 'hello')).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const files = JSON.parse(await readFile(join(jsProject(), 'serve-loaded.json'), 'utf8')) as string[];
    expect(files.some((file) => file.includes('/pending-hooks/dist/server/create-server.js'))).toBe(true);
    const unwanted = files.filter((file) =>
      /\/pending-hooks\/dist\/(loadtest\/|emulator\/(scenario|mock-stream-api|sample-messages|callback-sender|demo-handlers|latency-summary))|\/node_modules\/(tsx|esbuild|hdr-histogram-js)\//.test(file),
    );
    expect(unwanted).toEqual([]);
  });

  it('TypeScript (NodeNext): compiles with tsc, serves the five-line server and the plugin in its own fastify app', async () => {
    const server = start(process.execPath, ['out/src/main.js'], tsProject(), { STREAM_API_KEY: key, STREAM_API_SECRET: secret, LOG_LEVEL: 'warn' });
    const [, ready] = await server.waitFor(/READY (\{.*\})/);
    const { standaloneUrl, appUrl } = JSON.parse(ready!) as { standaloneUrl: string; appUrl: string };
    expect(await signedCallback(`${standaloneUrl}/PassOnPendingMessage`, 'hello', 'ts-five-line')).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
    expect(await signedCallback(`${appUrl}/stream/PassOnPendingMessage`, 'hello', 'ts-plugin')).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
    for (const id of ['ts-five-line', 'ts-plugin']) expect(await (await fetch(`${appUrl}/state/${id}`)).json()).toEqual({ state: 'committed' });
  });

  it('the CLI: --version, and one line naming what to install when a tool needs an optional dependency', async () => {
    const bin = join(jsProject(), 'node_modules/.bin/pending-hooks');
    const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect((await run(bin, ['--version'])).stdout.trim()).toBe(version);
    await writeFile(join(jsProject(), 'handlers.ts'), 'export default { PassOnPendingMessage: () => ({ action: "commit" as const }) };\n');
    const ts = await run(bin, ['serve', 'handlers.ts', '--dry-run'], { cwd: jsProject(), env: { ...process.env, STREAM_API_KEY: key, STREAM_API_SECRET: secret } }).catch((error: { code: number; stderr: string }) => error);
    expect(ts).toMatchObject({ code: 2 });
    expect((ts as { stderr: string }).stderr.trim()).toMatch(/^pending-hooks: the TypeScript handlers module handlers\.ts \(or compile it to JavaScript\) needs tsx, .*: npm install tsx$/);
    const bench = await run(bin, ['bench', '--url', 'http://127.0.0.1:9', '--secret', 's', '--duration', '1'], { cwd: jsProject() }).catch((error: { code: number; stderr: string }) => error);
    expect(bench).toMatchObject({ code: 2 });
    expect((bench as { stderr: string }).stderr.trim()).toMatch(/^pending-hooks: the load generator \(pending-hooks bench\) needs hdr-histogram-js, .*: npm install hdr-histogram-js$/);
  });
});

describe('examples/, compiled against the built package', () => {
  it('the Twirp-mode server answers the example Twirp client in both encodings', async () => {
    const server = start(process.execPath, ['out/examples/twirp-server.js'], tsProject(), { PORT: '0', LOG_LEVEL: 'warn', STREAM_API_SECRET: '', STREAM_API_KEY: '' });
    const [, address] = await server.waitFor(/Twirp: POST (http:\/\/[^/\s]+)/);
    const { stdout } = await run(process.execPath, ['out/examples/twirp-client-call.js', address!], { cwd: tsProject() });
    expect(stdout).toMatch(/JSON {5}→ 200 \{"action":"ACTION_COMMIT"/);
    expect(stdout).toMatch(/protobuf → 200 \{ action: 2, reason: 'blocklist: badword'/);
  });

  it('the npm start demo runs against the mock Stream API and keeps serving', async () => {
    const demo = start(process.execPath, ['out/examples/start.js'], tsProject(), { PORT: '0', LOG_LEVEL: 'warn' });
    await demo.waitFor(/still serving on/);
    expect(demo.output()).toMatch(/delete\s+blocklist: free crypto\s+[\d.]+ ms\s+deleted/);
    expect(demo.output()).toMatch(/Stream saw 1 commit/);
  });
});

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pendingBody, postSigned } from './support/servers.js';

const bin = join(process.cwd(), 'bin/pending-hooks.js');
const creds = { STREAM_API_KEY: 'cli-key', STREAM_API_SECRET: 'cli-secret-do-not-echo' };

/** Runs the CLI as a user does; resolves with its exit code and output (never rejects). */
function cli(args: string[], env: Record<string, string> = {}, cwd = process.cwd()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

async function handlersFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ph-cli-errors-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const okHandlers = 'export default { PassOnPendingMessage: () => ({ action: "commit" }) };\n';

describe('pending-hooks CLI exit codes and messages', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('usage errors exit 2: unknown command, missing argument, a mode spelled otherwise', async () => {
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'frobnicate'/) });
    expect(await cli(['serve'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/missing required argument 'module'/) });
    const proto = await cli(['bench', '--url', 'http://127.0.0.1:9', '--mode', 'twirp-proto', '--secret', 's']);
    expect(proto).toMatchObject({ code: 2, stderr: expect.stringMatching(/Allowed choices are rest, twirp-protobuf, twirp-json/) });
    const emulate = await cli(['emulate', '--mode', 'twirp-proto']);
    expect(emulate).toMatchObject({ code: 2, stderr: expect.stringMatching(/Allowed choices are rest, twirp-protobuf, twirp-json/) });
  });

  it('PORT=70000 is a configuration error (exit 2, one line), not a success', async () => {
    const result = await cli(['serve', await handlersFile('h.mjs', okHandlers), '--dry-run'], { ...creds, PORT: '70000' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('pending-hooks: PORT must be a whole number from 0 to 65535 (got 70000)\n');
  });

  it('configuration errors never echo the secret', async () => {
    const result = await cli(['serve', await handlersFile('h.mjs', okHandlers), '--timeout-ms', 'soon'], creds);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('pending-hooks: --timeout-ms must be a number (got "soon")\n');
    const missing = await cli(['serve', await handlersFile('h.mjs', okHandlers)], { STREAM_API_KEY: '', STREAM_API_SECRET: creds.STREAM_API_SECRET });
    expect(missing).toMatchObject({ code: 2, stderr: 'pending-hooks: STREAM_API_KEY and STREAM_API_SECRET go together\n' });
    for (const output of [result.stderr, result.stdout, missing.stderr, missing.stdout]) expect(output).not.toContain(creds.STREAM_API_SECRET);
  });

  it('a missing handlers module is one line, exit 2', async () => {
    const result = await cli(['serve', 'no/such/handlers.mjs', '--dry-run'], creds);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pending-hooks: handlers module not found: no\/such\/handlers\.mjs \(looked for \/.*no\/such\/handlers\.mjs\)\n$/);
  });

  it("a handlers module that throws while loading: exit 1, its file and line, only the user's frames", async () => {
    const path = await handlersFile('handlers.mjs', 'const config = undefined;\n\nexport default {\n  PassOnPendingMessage: () => ({ action: "commit" }),\n  words: config.blocklist,\n};\n');
    const result = await cli(['serve', path, '--dry-run'], creds);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`pending-hooks: the handlers module ${path} failed while loading:`);
    expect(lines[1]).toBe("TypeError: Cannot read properties of undefined (reading 'blocklist')");
    expect(lines.slice(2)).toEqual([`    at file://${path}:5:17`]);
  });

  it('a handlers function that throws while registering: exit 1, the stack through the user\'s functions', async () => {
    const path = await handlersFile('setup.mjs', 'function setup(hooks, options) {\n  return options.words.length;\n}\nexport default (hooks) => setup(hooks);\n');
    const result = await cli(['serve', path, '--dry-run'], creds);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`pending-hooks: the handlers module ${path} failed while registering its handlers:\nTypeError: Cannot read properties of undefined (reading 'words')\n    at setup (file://${path}:2:18)\n    at default (file://${path}:4:27)\n`);
    expect(result.stderr).not.toMatch(/node:internal|node_modules|src\/cli/);
  });

  it('a TypeScript handlers module that throws shows its .ts file and line', async () => {
    const path = await handlersFile('handlers.ts', 'const config: { words: string[] } | undefined = undefined;\nexport default { PassOnPendingMessage: () => ({ action: "commit" as const }), n: config!.words.length };\n');
    const result = await cli(['serve', path, '--dry-run'], creds);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`TypeError: Cannot read properties of undefined \\(reading 'words'\\)\\n\\s+at .*${path.replace(/[.]/g, '\\.')}:2:\\d+`));
  });

  it('a default export of the wrong shape is a usage error (exit 2)', async () => {
    const result = await cli(['serve', await handlersFile('h.mjs', 'export default { passOn() {} };\n'), '--dry-run'], creds);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pending-hooks: .*h\.mjs: the default export must be defineHandlers/);
  });

  it('a port in use: one line, exit 1; a host that does not exist: one line, exit 2', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const handlers = await handlersFile('h.mjs', okHandlers);
      const inUse = await cli(['serve', handlers, '--dry-run', '--port', String(port)], creds);
      expect(inUse.code).toBe(1);
      expect(inUse.stderr).toBe(`pending-hooks: port ${port} on 127.0.0.1 is already in use (EADDRINUSE): stop what listens there or choose another --port / PORT\n`);
      const badHost = await cli(['serve', handlers, '--dry-run', '--host', 'no-such-host.invalid', '--port', '0'], creds);
      expect(badHost.code).toBe(2);
      expect(badHost.stderr).toMatch(/^pending-hooks: cannot listen on host "no-such-host\.invalid": no such host name \(E[A-Z_]+\); set --host \/ HOST to an address of this machine, e\.g\. 127\.0\.0\.1 or 0\.0\.0\.0\n$/);
    } finally {
      taken.close();
    }
  });

  it('SIGTERM after a burst: exit 0 and every callback has its decision line', async () => {
    const child = spawn(process.execPath, [bin, 'serve', await handlersFile('h.mjs', okHandlers), '--dry-run', '--port', '0'], {
      env: { ...process.env, ...creds, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 15_000);
      child.stdout.on('data', () => {
        const match = /"address":"(http:\/\/[^"]+)"/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const count = 300;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => postSigned(`${address}/PassOnPendingMessage`, pendingBody({ id: `sigterm-${i}` }), { secret: creds.STREAM_API_SECRET, apiKey: creds.STREAM_API_KEY })),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const decisions = output.split('\n').filter((line) => line.includes('"msg":"decision"'));
    expect(decisions).toHaveLength(count);
    expect(new Set(decisions.map((line) => (JSON.parse(line) as { messageId: string }).messageId)).size).toBe(count);
  });
});

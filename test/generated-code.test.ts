import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');

/** The stale-generated-code check CI runs, exercised on a scratch copy of the repo's proto parts. */
describe('generated code check (scripts/check-generated.sh)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ph-gen-'));
    for (const path of ['proto', 'scripts', 'src/gen', 'test/twirp-client/gen', 'buf.yaml', 'buf.gen.yaml', 'buf.gen.test.yaml']) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await cp(join(root, path), join(dir, path), { recursive: true });
    }
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const check = () =>
    run('bash', [join(dir, 'scripts/check-generated.sh')], { cwd: dir }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
    );

  it('passes on the committed code', async () => {
    const result = await check();
    expect(result.output).toMatch(/up to date/);
    expect(result.code).toBe(0);
  });

  it('fails, naming the fix, when the committed code is stale', async () => {
    const proto = join(dir, 'proto/pendingmessage/v1/pending_message.proto');
    const original = await readFile(proto, 'utf8');
    await writeFile(proto, original.replace('bool accepted = 4;', 'bool accepted = 4;\n  string extra = 5;'));
    const result = await check();
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/npm run generate/);
    await writeFile(proto, original);
  });

  it('fails when a generated file was edited by hand', async () => {
    const generated = join(dir, 'src/gen/pendingmessage/v1/pending_message_pb.ts');
    await writeFile(generated, `${await readFile(generated, 'utf8')}\n// hand edit\n`);
    expect((await check()).code).not.toBe(0);
  });
});

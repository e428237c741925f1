import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function decisionLines(pinoOptions: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/default-logger-lines.ts', pinoOptions], {
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  return stdout
    .split('\n')
    .filter((line) => line.includes('"msg":"decision"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Fields that differ between two runs by nature. */
function comparable(line: Record<string, unknown>) {
  const { time, pid, latencyMs, budgetLeftMs, ...rest } = line;
  expect(typeof time).toBe('number');
  expect(typeof pid).toBe('number');
  expect(typeof latencyMs).toBe('number');
  expect(typeof budgetLeftMs).toBe('number');
  return rest;
}

describe('the default logger', () => {
  it("writes the decision line by hand exactly as pino writes it: same keys, order and values", async () => {
    // No options: the hand-written line. `base` spelled out: the same format through pino's serializer.
    const [fast, viaPino] = await Promise.all([decisionLines(''), decisionLines(JSON.stringify({ level: 'info', base: { pid: 0, hostname: 'x' } }))]);
    expect(fast).toHaveLength(3);
    expect(viaPino).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const { hostname: fastHost, ...fastRest } = comparable(fast[i]!);
      const { hostname: _, ...pinoRest } = comparable(viaPino[i]!);
      expect(typeof fastHost).toBe('string');
      expect(Object.keys(fastRest)).toEqual(Object.keys(pinoRest));
      expect(fastRest).toEqual(pinoRest);
    }
    expect(fast[1]).toMatchObject({ webhookId: 'wh-"2"', action: 'delete', reason: 'blocked: "quoted" \u00e9 \n' });
    expect(fast[2]).not.toHaveProperty('webhookId');
    expect(Object.keys(fast[0]!).slice(0, 4)).toEqual(['level', 'time', 'pid', 'hostname']);
  });

  it('builds a decision line after the turn, keeps the order of lines, and writes waiting lines on exit', async () => {
    const lines = async (mode: string) => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/default-logger-later.ts', mode], { env: { ...process.env, LOG_LEVEL: 'info' } });
      return stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { n: number; msg: string; level: number; time: number });
    };
    const ordered = await lines('order');
    expect(ordered.map((line) => [line.n, line.msg])).toEqual([
      [1, 'decision'],
      [2, 'decision'],
      [3, 'warning'],
      [4, 'decision'],
      [5, 'after'],
    ]);
    expect(ordered.every((line) => typeof line.time === 'number' && (line.level === 30 || line.level === 40))).toBe(true);
    const onExit = await lines('exit');
    expect(onExit.map((line) => line.n)).toEqual([1, 2]);
  });

  it("lets the callback's event go once answered, while its decision line waits for the end of the turn", async () => {
    const { stdout, stderr } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/default-logger-release.ts'], { env: { ...process.env, LOG_LEVEL: 'info' } });
    expect(stderr.trim()).toBe('released');
    const decision = stdout.split('\n').find((line) => line.includes('"msg":"decision"'));
    expect(JSON.parse(decision!)).toMatchObject({ webhookId: 'wh-1', messageId: 'm-1', action: 'commit' });
  });
});

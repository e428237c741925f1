/**
 * `bench/run.ts --baseline <git ref>`: another commit's build beside the current one, so a change
 * is measured against what it changes in the same run. Each pending-hooks row gets a twin
 * (`<id>@base`) started from the baseline's build; the twin runs right after its row in every
 * round, so the pair meets the same minute of the machine, and the report pairs them round by
 * round. Comparing two separate runs does not resolve a few percent on a shared VM: rounds move
 * 10–40%, and a fresh node process can land 10% slower for reasons outside the code measured
 * (bench/RESULTS.md, "`serve` against the tuned server").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.js';
import type { RowSpec } from './rows.js';

export interface Baseline {
  /** What was asked for (`HEAD~1`, a branch, a commit). */
  readonly ref: string;
  readonly commit: string;
  /** The baseline's tree, built: dist/ and bench/out/servers-js/. */
  readonly dir: string;
}

/**
 * The baseline commit's tree in a temporary directory (reused when already built), with this
 * checkout's node_modules linked in, built as `npm run build` and the bench servers' compile do.
 * Throws when the ref is unknown or the tree cannot be built.
 */
export function prepareBaseline(ref: string, repoRoot: string, log: (line: string) => void): Baseline {
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new Error(`--baseline ${ref}: not a commit of this repository`);
  }
  const dir = join(tmpdir(), `pending-hooks-baseline-${commit.slice(0, 12)}`);
  const ready = join(dir, '.built');
  if (existsSync(ready)) {
    log(`baseline ${ref} (${commit.slice(0, 12)}): reusing the build in ${dir}`);
    return { ref, commit, dir };
  }
  log(`baseline ${ref} (${commit.slice(0, 12)}): building it in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tree = execFileSync('git', ['archive', '--format=tar', commit], { cwd: repoRoot, maxBuffer: 1024 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: tree });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  for (const config of ['tsconfig.build.json', 'tsconfig.bench-servers.json']) {
    if (!existsSync(join(dir, config))) throw new Error(`--baseline ${ref}: the commit has no ${config}; pick a newer one`);
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: dir, stdio: 'inherit' });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bench-servers.json'], { cwd: dir, stdio: 'inherit' });
  writeFileSync(ready, `${commit}\n`);
  return { ref, commit, dir };
}

/** Whether a row's server is pending-hooks (the bench server script or `serve` from dist/), so it has a baseline twin. */
export function runsPendingHooks(row: RowSpec): boolean {
  return row.serveArgs ? row.serveArgs[0]?.startsWith('dist/') === true : row.script === 'pending-hooks';
}

/** The row's twin, served from the baseline's tree (same paths, relative to it); no target of its own. */
export function baselineTwin(row: RowSpec, baseline: Baseline): RowSpec {
  const { target: _target, ...rest } = row;
  return { ...rest, id: `${row.id}@base`, label: `${row.label} [baseline ${baseline.commit.slice(0, 8)}]`, from: baseline.dir };
}

/** One row against its twin, from the closed-loop rounds (paired by round number). */
export interface BaselineComparison {
  id: string;
  current: number | null;
  baseline: number | null;
  /** current / baseline of the medians. */
  ratio: number | null;
  /** current / baseline in each round both measured. */
  pairs: number[];
  faster: number;
  slower: number;
}

export function compareWithBaseline(id: string, current: { round: number; rps: number }[], baseline: { round: number; rps: number }[]): BaselineComparison {
  const pairs: number[] = [];
  for (const round of current) {
    const twin = baseline.find((b) => b.round === round.round);
    if (twin && twin.rps > 0) pairs.push(round.rps / twin.rps);
  }
  const cur = current.length ? median(current.map((r) => r.rps)) : null;
  const base = baseline.length ? median(baseline.map((r) => r.rps)) : null;
  // Within 1% counts as neither: below what a round can resolve.
  return {
    id,
    current: cur,
    baseline: base,
    ratio: cur !== null && base !== null && base > 0 ? cur / base : null,
    pairs,
    faster: pairs.filter((p) => p > 1.01).length,
    slower: pairs.filter((p) => p < 0.99).length,
  };
}

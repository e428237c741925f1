import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What code was measured: the commit, the files changed since it, and a hash of everything
 * under src/. Other people edit src/ while benchmarks run, and each row's server is started
 * fresh (it loads src/ then), so a run records the hash at its start and end and warns when
 * they differ.
 */
export interface SourceState {
  commit: string | undefined;
  changedFiles: string[];
  srcHash: string;
}

export function sourceState(root: string): SourceState {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const hash = createHash('sha256');
  const srcDir = join(root, 'src');
  const files = (readdirSync(srcDir, { recursive: true }) as string[]).filter((file) => /\.(ts|js|json)$/.test(file)).sort();
  for (const file of files) {
    hash.update(file);
    hash.update(readFileSync(join(srcDir, file)));
  }
  return {
    commit: git(['rev-parse', '--short', 'HEAD']),
    changedFiles: (git(['status', '--short', '--', 'src', 'package.json']) ?? '').split('\n').filter(Boolean),
    srcHash: hash.digest('hex').slice(0, 16),
  };
}

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';

/** Where a run happened: recorded with every result. */
export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  node: string;
  v8: string;
  os: string;
  memoryGiB: number;
  taskset: boolean;
  pinning: string;
}

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** True when `taskset` (util-linux) runs here. */
export function hasTaskset(): boolean {
  return run('taskset', ['-p', String(process.pid)]) !== undefined;
}

/** Clock ticks per second of /proc/<pid>/stat times. */
export const clockTicks = Number(run('getconf', ['CLK_TCK'])?.trim()) || 100;

export function machineInfo(pinning: string): MachineInfo {
  const lscpuModel = run('lscpu', [])
    ?.split('\n')
    .find((line) => line.startsWith('Model name:'))
    ?.slice('Model name:'.length)
    .trim();
  return {
    cpuModel: lscpuModel ?? cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    taskset: hasTaskset(),
    pinning,
  };
}

/** CPU seconds (user + system) a process has used, from /proc; undefined off Linux. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the full line: 11 and 12 after the name.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of each CPU, from /proc/stat (empty off Linux). */
export type CpuSnapshot = { busy: number; total: number }[];

export function cpuSnapshot(): CpuSnapshot {
  try {
    const out: CpuSnapshot = [];
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const match = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!match) continue;
      // user nice system idle iowait irq softirq steal ...
      const [user, nice, system, idle, iowait, irq, softirq, steal] = match[2]!.trim().split(/\s+/).map(Number) as number[];
      const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
      out[Number(match[1])] = { busy, total: busy + idle! + iowait! };
    }
    return out;
  } catch {
    return [];
  }
}

/** Fraction of each CPU that was busy between two snapshots. */
export function cpuBusy(before: CpuSnapshot, after: CpuSnapshot): number[] {
  return after.map((end, cpu) => {
    const start = before[cpu];
    if (!start || !end || end.total === start.total) return Number.NaN;
    return (end.busy - start.busy) / (end.total - start.total);
  });
}

/**
 * Waits until every CPU is (nearly) idle for a one-second window, or `maxMs` passed; other
 * processes on a shared machine would otherwise be measured with the contenders.
 * Returns the busiest CPU's load in the last window.
 */
export async function waitForQuiet(maxMs: number, threshold = 0.1): Promise<number> {
  const deadline = Date.now() + maxMs;
  let busiest = Number.NaN;
  do {
    const before = cpuSnapshot();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    busiest = Math.max(...cpuBusy(before, cpuSnapshot()).filter(Number.isFinite));
    if (!(busiest > threshold)) return busiest;
  } while (Date.now() < deadline);
  return busiest;
}

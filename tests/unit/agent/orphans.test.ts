import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { killOrphan, processStartTime } from '../../../src/main/core/agent/orphans.js';
import { sleep } from '../../helpers/wait.js';

function sleeper(): { pid: number; exited: Promise<NodeJS.Signals | null> } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  return { pid: child.pid!, exited: new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal))) };
}

describe('killOrphan', () => {
  it('stops the process when pid and start time match (SIGINT first)', async () => {
    const p = sleeper();
    const start = processStartTime(p.pid);
    expect(start).toMatch(/^\d+$/);
    await killOrphan(p.pid, start, 2000);
    expect(await p.exited).toBe('SIGINT');
  });

  it('leaves a process alone whose start time differs (a recycled pid)', async () => {
    const p = sleeper();
    await killOrphan(p.pid, '1', 200);
    expect(processStartTime(p.pid)).not.toBeNull();
    process.kill(p.pid, 'SIGKILL');
    expect(await p.exited).toBe('SIGKILL');
  });

  it('escalates to SIGKILL when SIGINT is ignored', async () => {
    const child = spawn('sh', ['-c', 'trap "" INT; sleep 30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    await sleep(100);
    await killOrphan(child.pid!, processStartTime(child.pid!), 300);
    expect(await exited).toBe('SIGKILL');
  });
});

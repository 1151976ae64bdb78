import { chmodSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerSecret } from '../../../src/main/core/log/redact.js';
import type { JsonEvent } from '../../../src/main/core/restic/backup-parser.js';
import { classify } from '../../../src/main/core/restic/outcome.js';
import { runProcess, type RunSpec } from '../../../src/main/core/restic/runner.js';
import { tempDir } from '../../helpers/tmp.js';

/** Writes a node script and returns an executable that runs it (a fake restic for runner mechanics). */
function fake(body: string): string {
  const dir = tempDir('rma-fake-');
  const js = join(dir, 'fake.mjs');
  writeFileSync(js, body);
  const bin = join(dir, 'restic');
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${js}" "$@"\n`);
  chmodSync(bin, 0o755);
  return bin;
}

async function run(body: string, extra: Partial<RunSpec> = {}) {
  const json: JsonEvent[] = [];
  const text: Array<[string, string]> = [];
  const raw = await runProcess({
    binary: fake(body),
    args: [],
    env: { PATH: process.env.PATH ?? '' },
    onJson: (ev) => json.push(ev),
    onText: (line, stream) => text.push([stream, line]),
    ...extra,
  });
  return { raw, json, text, outcome: classify(raw).outcome };
}

describe('runProcess', () => {
  it('streams JSON and text from both pipes and reports the exit code', async () => {
    const r = await run(`
      process.stdout.write('{"message_type":"status","percent_done":0.5,"total_files":2}\\n');
      process.stderr.write('some warning\\n{"message_type":"error","error":{"message":"boom"},"during":"archival","item":"/x"}\\n');
      process.stdout.write('{"message_type":"summary","files_new":1,"snapshot_id":"${'a'.repeat(64)}"}\\n');
      process.stderr.write('{"message_type":"exit_error","code":3,"message":"Warning: at least one source file could not be read"}\\n');
      process.exitCode = 3;`);
    expect(r.raw.code).toBe(3);
    expect(r.json.map((e) => e.kind).sort()).toEqual(['file-error', 'progress', 'summary']);
    expect(r.text).toEqual([['stderr', 'some warning']]);
    expect(r.raw.exitError).toEqual({ code: 3, message: 'Warning: at least one source file could not be read' });
    expect(r.raw.stderr).toContain('some warning');
    expect(r.outcome).toBe('partial');
  });

  it('reassembles lines and UTF-8 characters split across writes', async () => {
    const r = await run(`
      const b = Buffer.from('{"message_type":"status","percent_done":1,"current_files":["/dätä/€😀"]}\\n', 'utf8');
      const cut = b.indexOf(Buffer.from('😀')) + 2;
      process.stdout.write(b.subarray(0, cut));
      setTimeout(() => process.stdout.write(b.subarray(cut)), 100);`);
    const p = r.json[0];
    expect(p?.kind === 'progress' && p.progress.currentFiles).toEqual(['/dätä/€😀']);
  });

  it('redacts registered secrets in text lines and stderr', async () => {
    registerSecret('hunter2-very-secret');
    const r = await run(`console.error('Fatal: bad password hunter2-very-secret'); process.exitCode = 1;`);
    expect(r.text).toEqual([['stderr', 'Fatal: bad password ***']]);
    expect(r.raw.stderr).not.toContain('hunter2');
  });

  it('collects a multi-line document when asked', async () => {
    const r = await run(`console.log('{\\n  "version": 2\\n}')`, { collectStdout: true });
    expect(JSON.parse(r.raw.stdout)).toEqual({ version: 2 });
    expect(r.json).toEqual([]);
  });

  it('cancel: SIGINT ends a cooperative process → cancelled', async () => {
    const ac = new AbortController();
    const p = run(
      `console.log('{"message_type":"status","percent_done":0}'); process.on('SIGINT', () => { console.error('signal interrupt received, cleaning up'); process.exit(130); }); setTimeout(() => {}, 30000);`,
      {
        signal: ac.signal,
        cancelGraceMs: 5000,
        // Abort once the fake is up (its SIGINT handler is installed before it prints).
        onJson: () => setTimeout(() => ac.abort(), 150),
      },
    );
    const r = await p;
    expect(r.raw.code).toBe(130);
    expect(r.raw.forceKilled).toBe(false);
    expect(r.outcome).toBe('cancelled');
  });

  it('cancel: a process that ignores SIGINT is SIGKILLed after the grace period', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = run(`process.on('SIGINT', () => {}); console.log('x'); setTimeout(() => {}, 30000);`, {
      signal: ac.signal,
      cancelGraceMs: 400,
      onText: () => setTimeout(() => ac.abort(), 150),
    });
    const r = await p;
    expect(r.raw.signal).toBe('SIGKILL');
    expect(r.raw.forceKilled).toBe(true);
    expect(r.outcome).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('timeout → timeout', async () => {
    const r = await run(`setInterval(() => console.log('{"message_type":"status","percent_done":0}'), 50);`, { timeoutMs: 500, cancelGraceMs: 2000 });
    expect(r.raw.stopReason).toBe('timeout');
    expect(r.outcome).toBe('timeout');
    expect(r.json.length).toBeGreaterThan(2);
  });

  it('stall watchdog: no output for stallTimeoutMs → stalled; output keeps it alive', async () => {
    const stalled = await run(`console.log('start'); setTimeout(() => {}, 30000);`, { stallTimeoutMs: 400, cancelGraceMs: 2000 });
    expect(stalled.outcome).toBe('stalled');
    const alive = await run(`let n = 0; const t = setInterval(() => { console.log('tick'); if (++n === 8) { clearInterval(t); } }, 100);`, {
      stallTimeoutMs: 400,
    });
    expect(alive.outcome).toBe('success');
    expect(alive.text).toHaveLength(8);
  });

  it('an already-aborted signal does not spawn at all', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await run(`require('fs').writeFileSync('/tmp/should-not-exist', 'x')`, { signal: ac.signal });
    expect(r.raw.stopReason).toBe('cancel');
    expect(r.raw.code).toBeNull();
    expect(r.outcome).toBe('cancelled');
  });

  it('a missing binary is a config-error, not a throw', async () => {
    const raw = await runProcess({ binary: '/nonexistent/restic', args: ['version'], env: {} });
    expect(raw.spawnError).toContain('not found');
    expect(classify(raw).outcome).toBe('config-error');
  });

  it.runIf(process.platform === 'linux')('lowPriority runs restic under nice (and ionice when present) with the same PID', async () => {
    const r = await run(`import os from 'node:os'; console.log('prio:' + os.getPriority());`, { lowPriority: true });
    expect(r.text).toEqual([['stdout', `prio:${Math.min(19, os.getPriority() + 10)}`]]);
  });

  it('stdin is /dev/null (restic must never wait for a password on stdin)', async () => {
    const r = await run(`let d = ''; process.stdin.on('data', (c) => (d += c)); process.stdin.on('end', () => console.log('eof:' + d.length));`, {
      timeoutMs: 5000,
    });
    expect(r.text).toEqual([['stdout', 'eof:0']]);
  });
});

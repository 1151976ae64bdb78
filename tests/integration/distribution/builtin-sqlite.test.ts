// The single-file binaries keep the state database in Node 22's built-in node:sqlite (src/main/core/state/
// builtin-sqlite.ts). The modules that own tables — run history, scheduler state, both outboxes — run their own
// tests again here, on that Node and that SQLite (`RESTIC_AGENT_SQLITE=builtin`; better-sqlite3's addon, built for
// Node 20, could not even load there).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const node22 = 'vendor/node/linux-x64/node';
const suites = [
  'tests/unit/state',
  'tests/unit/scheduler',
  'tests/unit/managed/v1/outbox.test.ts',
  'tests/unit/managed/restic-monitor/dialect.test.ts',
  'tests/integration/managed/v1/lifecycle.test.ts',
];

describe.skipIf(process.platform !== 'linux' || process.arch !== 'x64' || !existsSync(node22))('the state database on node:sqlite', () => {
  it('passes the table-owning modules’ tests under Node 22 with the built-in SQLite', async () => {
    const r = await promisify(execFile)(node22, ['node_modules/vitest/vitest.mjs', 'run', ...suites, '--reporter=dot'], {
      env: { ...process.env, RESTIC_AGENT_SQLITE: 'builtin', NODE_NO_WARNINGS: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      maxBuffer: 1 << 24,
    }).catch((e: { stdout: string; stderr: string }) => e);
    expect(r.stdout + r.stderr).toMatch(/Test Files +\d+ passed/);
    expect(r.stdout + r.stderr).not.toMatch(/failed/);
  }, 240_000);
});

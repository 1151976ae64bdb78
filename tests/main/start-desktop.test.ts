import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const script = fileURLToPath(new URL('../../scripts/start-desktop.js', import.meta.url));
const run = (env: NodeJS.ProcessEnv) =>
  promisify(execFile)(process.execPath, [script, '--hidden'], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('npm start', () => {
  it('without an Electron binary: one line pointing to the CLI, non-zero exit', async () => {
    const r = await run({ ELECTRON_OVERRIDE_DIST_PATH: join(tempDir(), 'none') });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('npx restic-agent run');
  });

  it('with a binary: launches it with the project folder and the arguments', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'electron'), '#!/bin/sh\necho "launched $@"\n', { mode: 0o755 });
    const r = await run({ ELECTRON_OVERRIDE_DIST_PATH: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^launched \S+ --hidden/);
  });
});

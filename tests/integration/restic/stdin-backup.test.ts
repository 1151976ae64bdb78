// Backups of a command's output (the primitive under every database plugin), with real restic 0.14 (the agent feeds
// --stdin itself) and 0.19 (--stdin-from-command), and of a stream the agent reads itself (--stdin with either): a good
// dump becomes a snapshot; a failed or missing dump never does.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoAccess } from '../../../src/main/core/config/types.js';
import { dumpEnv } from '../../../src/main/core/restic/env.js';
import { detectResticVersion, Restic } from '../../../src/main/core/restic/restic.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { useCheapKdf } from '../../helpers/fast-kdf.js';

const PASSWORD = 'stdin-pw-0815';

describe.each(resticBins().map((b) => [b.label, b.path] as const))('backup from a command with %s', (_label, bin) => {
  let dir: string;
  let restic: Restic;
  let repo: RepoAccess;
  const bare = (...args: string[]): string =>
    execFileSync(bin, ['-r', repo.url, '--no-cache', ...args], { env: { ...process.env, RESTIC_PASSWORD: PASSWORD }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const snapshots = () => JSON.parse(bare('snapshots', '--json')) as Array<{ id: string; paths: string[]; tags?: string[] }>;
  const backup = (command: string[], filename = 'dump.ldif') =>
    restic.backup({ paths: [], exclude: [], tags: ['plugin:command'], stdin: { command, filename, env: dumpEnv({ DUMP_MARK: 'own-var' }) } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rma-stdin-'));
    // A backend secret in the repository's env: restic needs it, the dump must not see it.
    repo = { url: join(dir, 'repo'), password: { kind: 'value', value: PASSWORD }, env: { AWS_SECRET_ACCESS_KEY: 'aws-secret-4711' } };
    restic = new Restic({ binary: bin, version: await detectResticVersion(bin), repo, host: 'stdin-host', cacheDir: join(dir, 'cache'), retryLockMs: 0 });
    expect((await restic.init()).outcome).toBe('success');
    useCheapKdf(repo.url, PASSWORD);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a dump that succeeds is one snapshot of /<filename>, byte for byte, and sees its own environment, never the repository's", async () => {
    // 8 MiB of output plus the environment the dump command ran with.
    const r = await backup(['sh', '-c', 'head -c 8388608 /dev/zero | tr "\\0" x; echo; env']);
    expect(r.outcome, r.message).toBe('success');
    expect(r.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    const [snap] = snapshots();
    expect(snap).toMatchObject({ paths: ['/dump.ldif'], tags: ['plugin:command'] });
    const content = bare('dump', snap!.id, '/dump.ldif');
    expect(content.startsWith('x'.repeat(8 * 1024 * 1024) + '\n')).toBe(true);
    expect(content).not.toContain(PASSWORD);
    expect(content).not.toMatch(/^RESTIC_/m);
    expect(content).not.toContain('aws-secret-4711');
    expect(content).toMatch(/^DUMP_MARK=own-var$/m);
  });

  it('a dump that fails half-way leaves no snapshot and a failed run that says why', async () => {
    const before = snapshots().length;
    const r = await backup(['sh', '-c', 'echo "dn: half"; sleep 1; echo "slapcat: database locked" >&2; exit 3']);
    expect(r.outcome).toBe('failed');
    expect(r.message).toMatch(/dump command failed/);
    expect(r.snapshotId).toBeNull();
    expect(snapshots()).toHaveLength(before);
  });

  it('a stream the agent reads itself (a volume tar) is stored byte for byte; one that errors half-way leaves no snapshot', async () => {
    const chunk = Buffer.alloc(1 << 20, 'v');
    const good = await restic.backup({
      paths: [],
      exclude: [],
      tags: ['plugin:docker'],
      stdin: {
        filename: 'docker/vol.tar',
        open: async () =>
          Readable.from(
            (function* () {
              for (let i = 0; i < 6; i++) yield chunk;
            })(),
          ),
      },
    });
    expect(good.outcome, good.message).toBe('success');
    const snap = snapshots().find((s) => s.id === good.snapshotId);
    expect(snap?.paths).toEqual(['/docker/vol.tar']);
    expect(bare('dump', good.snapshotId ?? '', '/docker/vol.tar')).toBe('v'.repeat(6 << 20));

    const before = snapshots().length;
    const broken = await restic.backup({
      paths: [],
      exclude: [],
      tags: ['plugin:docker'],
      stdin: {
        filename: 'docker/vol.tar',
        open: async () =>
          Readable.from(
            (async function* () {
              yield chunk;
              await new Promise((r) => setTimeout(r, 300));
              throw new Error('the daemon went away');
            })(),
          ),
      },
    });
    expect(broken.outcome).toBe('failed');
    expect(broken.message).toMatch(/the daemon went away/);
    expect(broken.snapshotId).toBeNull();
    expect(snapshots()).toHaveLength(before);
  });

  it('a dump command that does not exist leaves no snapshot', async () => {
    const before = snapshots().length;
    const r = await backup(['/nonexistent/slapcat', '-n', '1']);
    expect(r.outcome).toBe('failed');
    expect(snapshots()).toHaveLength(before);
  });
});

import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSecretStore, SecretFileError } from '../../../src/main/core/secrets/file-store.js';
import { MemorySecretStore } from '../../../src/main/core/secrets/memory-store.js';
import { tempDir } from '../../helpers/tmp.js';

describe('FileSecretStore', () => {
  it('creates the file 0600 in a 0700 directory and round-trips values', async () => {
    const dir = join(tempDir(), 'agent');
    const file = join(dir, 'secrets.json');
    const store = new FileSecretStore(file);
    expect(store.backend).toBe(`file (${file})`);
    expect(await store.get('repo:default:password')).toBeNull();
    await store.set('repo:default:password', 's3cret value');
    await store.set('orchestrator:token:current', 'tok');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    // A second instance (another process) sees the same data.
    const other = new FileSecretStore(file);
    expect(await other.get('repo:default:password')).toBe('s3cret value');
    expect(await other.delete('orchestrator:token:current')).toBe(true);
    expect(await other.delete('orchestrator:token:current')).toBe(false);
    expect(await store.get('orchestrator:token:current')).toBeNull();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, secrets: { 'repo:default:password': 's3cret value' } });
  });

  it('keeps every write of concurrent updates and leaves no temp files', async () => {
    const dir = tempDir();
    const store = new FileSecretStore(join(dir, 'secrets.json'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`k${i}`, `v${i}`)));
    for (let i = 0; i < 20; i++) expect(await store.get(`k${i}`)).toBe(`v${i}`);
    expect(await readdir(dir)).toEqual(['secrets.json']);
  });

  it('replaces the file atomically (a new inode, never a partial write)', async () => {
    const file = join(tempDir(), 'secrets.json');
    const store = new FileSecretStore(file);
    await store.set('a', '1');
    const before = (await stat(file)).ino;
    await store.set('b', '2');
    expect((await stat(file)).ino).not.toBe(before);
  });

  it.skipIf(process.platform === 'win32')('refuses a group/world-readable file and says how to fix it', async () => {
    const file = join(tempDir(), 'secrets.json');
    await writeFile(file, JSON.stringify({ version: 1, secrets: { a: 'x' } }), { mode: 0o600 });
    await chmod(file, 0o644);
    const store = new FileSecretStore(file);
    const err = await store.get('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFileError);
    expect((err as Error).message).toContain('mode 644');
    expect((err as Error).message).toContain(`chmod 600 '${file}'`);
    await expect(store.set('b', 'y')).rejects.toBeInstanceOf(SecretFileError);
    await chmod(file, 0o600);
    expect(await store.get('a')).toBe('x');
  });

  it('refuses malformed content with a clear message', async () => {
    const dir = tempDir();
    await mkdir(dir, { recursive: true });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{not json', { mode: 0o600 });
    await expect(new FileSecretStore(bad).get('a')).rejects.toThrow(/not valid JSON/);
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, '{"secrets": {"a": 1}}', { mode: 0o600 });
    await expect(new FileSecretStore(wrong).check()).rejects.toThrow(/unexpected layout/);
  });

  it('does not treat prototype names as stored accounts', async () => {
    const store = new FileSecretStore(join(tempDir(), 's.json'));
    expect(await store.get('constructor')).toBeNull();
    expect(await store.get('__proto__')).toBeNull();
  });
});

describe('MemorySecretStore', () => {
  it('stores, reads and deletes', async () => {
    const s = new MemorySecretStore({ a: '1' });
    expect(await s.get('a')).toBe('1');
    await s.set('b', '2');
    expect(await s.delete('b')).toBe(true);
    expect(await s.get('b')).toBeNull();
  });
});

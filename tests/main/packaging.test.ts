// Runs electron-builder --dir offline with a stand-in Electron (no binary can be downloaded here), then checks
// what the package contains and that the fuses in electron-builder.yml were applied. About 20 s.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// Fuse wire v1 order: RunAsNode, CookieEncryption, NodeOptions, NodeCliInspect, AsarIntegrity, OnlyLoadAppFromAsar,
// BrowserV8Snapshot, GrantFileProtocolExtraPrivileges, WasmTrapHandlers.
const INITIAL = '101101101';

function npx(args: string[], timeout = 120_000): string {
  return execFileSync('npx', args, {
    cwd: root,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, NODE_ENV: 'production', ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('electron-builder --dir (offline, stub Electron)', () => {
  it('packs main, preload, renderer and assets into app.asar, unpacks native modules, flips the fuses', async () => {
    if (!existsSync(join(root, 'dist/main/index.js'))) npx(['tsc', '-p', 'tsconfig.build.json']);
    if (!existsSync(join(root, 'dist/preload/index.cjs'))) npx(['vite', 'build', '--config', 'vite.preload.config.ts']);
    if (!existsSync(join(root, 'dist/renderer/index.html'))) npx(['vite', 'build', '--config', 'vite.renderer.config.ts']);
    const stub = tempDir('rma-eb-stub-');
    const out = tempDir('rma-eb-out-');
    writeFileSync(join(stub, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\n'), Buffer.from(SENTINEL), Buffer.from([1, 9]), Buffer.from(INITIAL)]), {
      mode: 0o755,
    });
    writeFileSync(join(stub, 'version'), '45.5.0');
    npx(['electron-builder', '--dir', '--linux', '--x64', `-c.electronDist=${stub}`, `-c.directories.output=${out}`]);

    const unpacked = join(out, 'linux-unpacked');
    const binary = readFileSync(join(unpacked, 'restic-monitor-agent'));
    const at = binary.indexOf(SENTINEL) + SENTINEL.length;
    const wire = binary.subarray(at + 2, at + 2 + 9).toString('latin1');
    expect(wire).toBe('01001101' + INITIAL[8]);

    const { listPackage } = (await import('@electron/asar')) as { listPackage(p: string, o: object): string[] };
    const files = listPackage(join(unpacked, 'resources', 'app.asar'), {}).map((f) => f.replace(/\\/g, '/'));
    for (const f of [
      '/dist/main/index.js',
      '/dist/preload/index.cjs',
      '/dist/renderer/index.html',
      '/assets/tray/tray-idle.png',
      '/assets/tray/tray-idleTemplate@2x.png',
      '/package.json',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);
    expect(files).not.toContain('/assets/generate-icons.mjs');
    expect(existsSync(join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', 'keytar'))).toBe(true);
    expect(existsSync(join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', 'better-sqlite3'))).toBe(true);
  }, 150_000);
});

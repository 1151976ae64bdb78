/**
 * The single-file binary's entry point (Node's single executable application, see docs/distribution.md): loads the
 * SQLite addon from the binary's assets, then runs the same CLI as `bin/restic-agent.js`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAsset } from 'node:sea';
import { currentPlatformPaths, useSqliteBinding } from './core/index.js';
import { main } from './cli/program.js';

/**
 * A native addon can only be loaded from a file: the asset is written to the agent's cache dir (never a shared
 * temp dir) under its content hash, and an existing file is loaded only if its content still has that hash.
 */
function loadAddon(asset: string): object {
  const bytes = Buffer.from(getAsset(asset));
  const hash = createHash('sha256').update(bytes).digest('hex');
  const dir = join(currentPlatformPaths().cacheDir, 'native');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${hash.slice(0, 16)}-${asset}`);
  const intact = existsSync(file) && createHash('sha256').update(readFileSync(file)).digest('hex') === hash;
  if (!intact) {
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, bytes, { mode: 0o500 });
    renameSync(partial, file);
  }
  const module = { exports: {} };
  process.dlopen(module, file);
  return module.exports;
}

useSqliteBinding(loadAddon('better_sqlite3.node'));
void main(process.argv).then((code) => {
  process.exitCode = code;
});

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The running program as a service runs it: the single-file binary, or node and this CLI's script (never npx). */
export function programPath(): string[] {
  return isSingleFile() ? [process.execPath] : [process.execPath, resolve(process.argv[1] ?? '')];
}

/** True inside a single-file binary (Node's single executable application). */
export function isSingleFile(): boolean {
  try {
    const sea = createRequire(import.meta.url)('node:sea') as { isSea(): boolean };
    return sea.isSea();
  } catch {
    return false;
  }
}

/**
 * The WinSW executable for a Windows service: an asset of the single-file binary (written out once), or the copy
 * node-windows ships in a development tree. Undefined when neither is there.
 */
export function winswExe(): string | undefined {
  if (isSingleFile()) {
    const sea = createRequire(import.meta.url)('node:sea') as { getAsset(key: string): ArrayBuffer };
    const file = join(mkdtempSync(join(tmpdir(), 'restic-agent-')), 'winsw.exe');
    writeFileSync(file, Buffer.from(sea.getAsset('winsw.exe')));
    return file;
  }
  try {
    const pkg = createRequire(import.meta.url).resolve('node-windows/package.json');
    const exe = join(dirname(pkg), 'bin', 'winsw', 'winsw.exe');
    return existsSync(exe) ? exe : undefined;
  } catch {
    return undefined;
  }
}

import { readFile } from 'node:fs/promises';

/** The PEM of a `ca_file` setting (null when none), with an error that names the setting. */
export async function readCaFile(path: string | null, setting = 'orchestrator.ca_file'): Promise<string | null> {
  if (!path) return null;
  return readFile(path, 'utf8').catch((e: Error) => {
    throw new Error(`${setting}: cannot read ${path}: ${e.message}`);
  });
}

/**
 * First-run defaults: a small demo folder backed up hourly to a local repository under the data dir, with a
 * generated password kept in the SecretStore (never in the YAML), so a fresh install works at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { registerSecret } from '../log/redact.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { writeConfigFile } from './write.js';

/** The SecretStore account of the demo repository's password (the default for repository `default`). */
export const DEMO_PASSWORD_ACCOUNT = 'repo:default:password';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A strong random password: 40 characters from a 57-symbol alphabet (~233 bits), no look-alike characters. */
export function generatePassword(length = 40): string {
  if (length < 32) throw new RangeError('generatePassword: length must be at least 32');
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // Rejection sampling keeps every symbol equally likely.
      if (byte < 256 - (256 % ALPHABET.length)) out += ALPHABET[byte % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

const DEMO_FILES: ReadonlyArray<[string, string]> = [
  ['README.txt', 'This folder was created by Restic Monitor Agent as a backup demo.\nEdit or add files, then run a backup.\n'],
  ['notes/todo.md', '# Things to try\n\n- Run a backup now\n- Browse the snapshot\n- Point the agent at your own folders\n'],
  ['notes/ideas.txt', 'Backups are only as good as your last restore test.\n'],
  ['data/numbers.csv', 'n,square\n' + Array.from({ length: 50 }, (_, i) => `${i},${i * i}`).join('\n') + '\n'],
];

/**
 * Creates the demo source folder (`<dataDir>/demo-source`), picks the repository path
 * (`<dataDir>/repository`; restic initialises it on first use), stores a generated password under
 * `repo:default:password` unless one exists, and returns the configuration YAML. With `configPath` the YAML
 * is also written there (atomically, 0600). Existing demo files and passwords are kept.
 */
export async function createDemoSetup(
  dataDir: string,
  secrets: SecretStore,
  opts: { configPath?: string } = {},
): Promise<{ configPath?: string; yaml: string }> {
  const sourceDir = join(dataDir, 'demo-source');
  for (const [rel, content] of DEMO_FILES) {
    const file = join(sourceDir, rel);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, content, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  let password = await secrets.get(DEMO_PASSWORD_ACCOUNT);
  if (!password) {
    password = generatePassword();
    await secrets.set(DEMO_PASSWORD_ACCOUNT, password);
  }
  registerSecret(password);

  const body = stringify({
    repository: { url: join(dataDir, 'repository') },
    backup: { sources: [{ path: sourceDir, policy: 'hourly' }] },
  });
  const yaml = [
    '# Demo configuration created on first run. Replace the source with your own folders and the',
    '# repository with your own (see the configuration reference for every option).',
    `# The repository password is kept in the agent's secret store (${secrets.backend}),`,
    `# account "${DEMO_PASSWORD_ACCOUNT}" — not in this file.`,
    body,
  ].join('\n');
  if (opts.configPath) {
    await writeConfigFile(opts.configPath, yaml, { knownSecrets: [password] });
    return { configPath: opts.configPath, yaml };
  }
  return { yaml };
}

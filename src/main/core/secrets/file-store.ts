import { readFile, stat } from 'node:fs/promises';
import { atomicWriteFile } from '../config/atomic-write.js';
import type { SecretStore } from './secret-store.js';

/** The secrets file could not be used; the message says how to fix it. */
export class SecretFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretFileError';
  }
}

interface FileShape {
  version: 1;
  secrets: Record<string, string>;
}

/**
 * A SecretStore in a JSON file, for machines without an OS keyring. The file is created with mode 0600 in a
 * 0700 directory and replaced atomically on every change; a file other users can read is refused. The
 * file is re-read on every call, so the CLI and a running daemon see each other's changes.
 */
export class FileSecretStore implements SecretStore {
  readonly backend: string;
  /** Serialises read-modify-write cycles within this process. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {
    this.backend = `file (${path})`;
  }

  async get(account: string): Promise<string | null> {
    const data = await this.#read();
    return Object.hasOwn(data.secrets, account) ? (data.secrets[account] ?? null) : null;
  }

  async set(account: string, value: string): Promise<void> {
    await this.#update((secrets) => {
      secrets[account] = value;
      return undefined;
    });
  }

  async delete(account: string): Promise<boolean> {
    return this.#update((secrets) => {
      if (!Object.hasOwn(secrets, account)) return false;
      delete secrets[account];
      return true;
    });
  }

  /** Fails unless the file is missing or private to its owner (and parses). */
  async check(): Promise<void> {
    await this.#read();
  }

  #update<T>(change: (secrets: Record<string, string>) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const data = await this.#read();
      const result = change(data.secrets);
      await atomicWriteFile(this.path, `${JSON.stringify(data, null, 2)}\n`, 0o600);
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #read(): Promise<FileShape> {
    let text: string;
    try {
      await this.#checkMode();
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, secrets: Object.create(null) as Record<string, string> };
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new SecretFileError(`secrets file ${this.path} is not valid JSON; restore it from a backup or move it away to start empty`);
    }
    const secrets = (parsed as Partial<FileShape> | null)?.secrets;
    if (!secrets || typeof secrets !== 'object' || Object.values(secrets).some((v) => typeof v !== 'string')) {
      throw new SecretFileError(`secrets file ${this.path} has an unexpected layout (expected {"version":1,"secrets":{"account":"value"}})`);
    }
    return { version: 1, secrets: Object.assign(Object.create(null) as Record<string, string>, secrets) };
  }

  async #checkMode(): Promise<void> {
    // Windows has no POSIX modes; the file lives in the user's profile, protected by ACLs.
    if (process.platform === 'win32') return;
    const st = await stat(this.path);
    if (!st.isFile()) throw new SecretFileError(`secrets file ${this.path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
      throw new SecretFileError(
        `secrets file ${this.path} is readable or writable by other users (mode ${mode}); it holds repository passwords, so it is not read. Fix it with: chmod 600 '${this.path}'`,
      );
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    if (uid !== null && uid !== 0 && st.uid !== uid) {
      throw new SecretFileError(`secrets file ${this.path} belongs to another user (uid ${st.uid}); fix it with: chown ${uid} '${this.path}'`);
    }
  }
}

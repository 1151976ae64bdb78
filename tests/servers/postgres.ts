// A private PostgreSQL 15 cluster for plugin tests: its own temp dir, Unix socket only, password auth (scram).
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** The socket directory: the clients' `host`. */
  readonly host: string;
  readonly user: 'postgres';
  readonly password: string;
  /** Runs SQL with psql (password through PGPASSWORD in the test's own environment) and returns the rows. */
  sql(db: string, sql: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export function havePostgres(): boolean {
  return existsSync(join(PG_BIN, 'initdb'));
}

/** initdb refuses to run as root: the cluster belongs to `nobody` when the tests run as root. */
function asOwner(args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ['runuser', ['-u', 'nobody', '--', ...args]] : [args[0]!, args.slice(1)];
}

export async function startPostgres(password = 'pg-secret-Zq7!x'): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-pg-'));
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (userInfo().uid === 0) {
    chownSync(dir, 65534, 65534);
    chownSync(pwfile, 65534, 65534);
  }
  const ctl = (...a: string[]) => run(...asOwner([join(PG_BIN, 'pg_ctl'), '-D', join(dir, 'data'), ...a]));
  await run(...asOwner([join(PG_BIN, 'initdb'), '-D', join(dir, 'data'), '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${pwfile}`]));
  const start = async () => {
    await ctl('-o', `-k ${dir} -c listen_addresses=''`, '-l', join(dir, 'log'), '-w', 'start');
  };
  await start();
  return {
    host: dir,
    user: 'postgres',
    password,
    async sql(db, sql) {
      const { stdout } = await run(join(PG_BIN, 'psql'), ['-h', dir, '-U', 'postgres', '-d', db, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
        env: { ...process.env, PGPASSWORD: password },
        maxBuffer: 64 << 20,
      });
      return stdout.trim();
    },
    stop: async () => {
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => {});
    },
    start,
    async dispose() {
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

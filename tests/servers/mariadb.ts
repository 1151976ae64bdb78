// A private MariaDB 10.11 server for plugin tests: its own temp dir, Unix socket only, root with a password.
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

export interface MariaDbServer {
  readonly socket: string;
  readonly password: string;
  /** Runs SQL as root (password through MYSQL_PWD in the test's own environment) and returns the rows. */
  sql(db: string | null, sql: string): Promise<string>;
  /** SIGKILLs the server, as a crash would; start() brings it back on the same data. */
  kill(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export function haveMariaDb(): boolean {
  return existsSync('/usr/sbin/mariadbd') || existsSync('/usr/bin/mariadbd');
}

export async function startMariaDb(password = 'my-secret-Kp3;x"q'): Promise<MariaDbServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-my-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'mysql']);
    chownSync(dir, Number(stdout.trim()), Number(stdout.trim()));
  }
  const user = asRoot ? ['--user=mysql'] : [];
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${dir}/data`, ...user, '--auth-root-authentication-method=normal']);
  const socket = join(dir, 'sock');
  let exited: Promise<void> = Promise.resolve();
  let server: ReturnType<typeof spawn> | null = null;
  const start = async () => {
    rmSync(socket, { force: true });
    const child = spawn('mariadbd', ['--no-defaults', `--datadir=${dir}/data`, `--socket=${socket}`, '--skip-networking', ...user, `--pid-file=${dir}/pid`], {
      stdio: 'ignore',
    });
    server = child;
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitFor('mariadbd to listen', () => existsSync(socket), 60_000, 100);
  };
  const stop = async (signal: NodeJS.Signals) => {
    server?.kill(signal);
    await exited;
    server = null;
  };
  await start();
  const client = (db: string | null, sql: string, pw: string | null) =>
    run('mariadb', ['--no-defaults', '-S', socket, '-uroot', '-N', '-B', '-e', sql, ...(db ? [db] : [])], {
      env: { ...process.env, ...(pw ? { MYSQL_PWD: pw } : {}) },
      maxBuffer: 64 << 20,
    });
  await client(null, `ALTER USER root@localhost IDENTIFIED BY '${password.replace(/'/g, "''")}'`, null);
  return {
    socket,
    password,
    sql: async (db, sql) => (await client(db, sql, password)).stdout.trim(),
    kill: () => stop('SIGKILL'),
    start,
    async dispose() {
      await stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

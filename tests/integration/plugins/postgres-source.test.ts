// The postgres plugin against a real private PostgreSQL 15 cluster (password auth), through the real agent core
// and real restic 0.14 and 0.19: one snapshot per database plus the globals, the password never in argv, a
// restore into a new database that matches the original row for row, a raw dump to a file, and dumps that fail
// (wrong password, the server killed half-way) that leave a failed run and no snapshot.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { sampleArgv } from '../../helpers/argv-sampler.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { havePostgres, PG_BIN, startPostgres, type PostgresServer } from '../../servers/postgres.js';
import { initRepo, startCore, writeConfig } from '../scheduling/harness.js';

let pg: PostgresServer;
let core: AgentCore | null = null;

/** A fingerprint of a table's content: row count and an md5 over every row in key order. */
const fingerprint = (db: string, table: string) =>
  pg.sql(db, `SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM ${table} t`);

beforeAll(async () => {
  pg = await startPostgres();
  await pg.sql('postgres', 'CREATE DATABASE shop');
  await pg.sql('postgres', 'CREATE DATABASE blog');
  await pg.sql('postgres', "CREATE ROLE reporter LOGIN PASSWORD 'role-pw-Qx'");
  await pg.sql('blog', "CREATE TABLE posts (id int PRIMARY KEY, body text); INSERT INTO posts VALUES (1, 'hello'), (2, 'world')");
  // Big enough that its dump takes a moment: the server is killed while it streams.
  await pg.sql('postgres', 'CREATE DATABASE big');
  await pg.sql(
    'big',
    'CREATE TABLE blobs (id int PRIMARY KEY, data text); INSERT INTO blobs SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 300000) g',
  );
}, 180_000);
afterAll(() => pg?.dispose());
afterEach(async () => {
  await core?.stop();
  core = null;
});

describe.skipIf(!havePostgres()).each(resticBins().map((b) => [b.label, b.path] as const))('postgres source with %s', (_label, bin) => {
  it('backs up every database and the globals, restores one into a new database, and never puts the password in argv', async () => {
    const dir = tempDir('rma-pg-src-');
    const repo = await initRepo(bin, dir, 'main');
    const pwFile = join(dir, 'pg.pass');
    writeFileSync(pwFile, `${pg.password}\n`, { mode: 0o600 });
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      `  postgres: [ { name: shop-db, host: ${pg.host}, user: postgres, password_file: ${pwFile}, databases: all, exclude_databases: [big], bin_dir: ${PG_BIN} } ]`,
    ]);
    // The cluster is shared by both restic versions: start from the same data.
    await pg.sql('postgres', 'DROP DATABASE IF EXISTS shop_restored');
    await pg.sql(
      'shop',
      "DROP TABLE IF EXISTS orders; CREATE TABLE orders (id int PRIMARY KEY, item text, price numeric); INSERT INTO orders SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 5000) g",
    );
    core = await startCore(dir);
    const bare = (...a: string[]) => execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', ...a], { encoding: 'utf8' });
    const snaps = () => JSON.parse(bare('snapshots', '--json')) as Array<{ id: string; paths: string[]; tags: string[] }>;

    const argv = sampleArgv([pg.password]);
    const [rec] = await core.runNow({ kind: 'backup', source: 'shop-db' });
    const { commands, leaks } = argv.stop();
    expect(rec, JSON.stringify(rec)).toMatchObject({ kind: 'backup', source: 'postgres:shop-db', outcome: 'success' });
    expect(leaks).toEqual([]);
    expect([...commands].some((c) => c.includes('pg_dump') && c.includes('-Fc'))).toBe(true);

    const byPath = Object.fromEntries(snaps().map((s) => [s.paths[0], s.tags]));
    expect(Object.keys(byPath).sort()).toEqual(['/postgres/blog.dump', '/postgres/globals.sql', '/postgres/postgres.dump', '/postgres/shop.dump']);
    expect(byPath['/postgres/shop.dump']).toEqual(expect.arrayContaining(['plugin:postgres', 'source:shop-db', 'db:shop']));
    expect(byPath['/postgres/globals.sql']).toEqual(expect.arrayContaining(['source:shop-db', 'globals']));
    expect(bare('dump', snaps().find((s) => s.tags.includes('globals'))!.id, '/postgres/globals.sql')).toMatch(/CREATE ROLE reporter/);

    const original = await fingerprint('shop', 'orders');
    await pg.sql('shop', 'DELETE FROM orders WHERE id % 3 = 0; UPDATE orders SET price = 0 WHERE id < 10');
    expect(await fingerprint('shop', 'orders')).not.toBe(original);

    // Several databases: the restore asks which one rather than guess.
    const [ambiguous] = await core.runNow({ kind: 'restore', source: 'shop-db', snapshotId: null, item: null, target: { kind: 'database', name: 'x' } });
    expect(ambiguous?.message).toMatch(/choose one with --db NAME/);

    const restoreArgv = sampleArgv([pg.password]);
    const [restored] = await core.runNow({
      kind: 'restore',
      source: 'shop-db',
      snapshotId: null,
      item: 'shop',
      target: { kind: 'database', name: 'shop_restored' },
    });
    expect(restoreArgv.stop().leaks).toEqual([]);
    expect(restored, JSON.stringify(restored)).toMatchObject({ kind: 'restore', source: 'postgres:shop-db', outcome: 'success' });
    expect(await fingerprint('shop_restored', 'orders')).toBe(original);

    // A restore never overwrites: the same target again fails, and leaves the restored database as it was.
    const [again] = await core.runNow({
      kind: 'restore',
      source: 'shop-db',
      snapshotId: null,
      item: 'shop',
      target: { kind: 'database', name: 'shop_restored' },
    });
    expect(again?.outcome).toBe('failed');
    expect(again?.message).toMatch(/already exists/);

    const file = join(dir, 'blog.dump');
    const [toFile] = await core.runNow({ kind: 'restore', source: 'postgres:shop-db', snapshotId: null, item: 'blog', target: { kind: 'file', path: file } });
    expect(toFile?.outcome, toFile?.message ?? '').toBe('success');
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('PGDMP'); // pg_dump's custom format
    expect(execFileSync(join(PG_BIN, 'pg_restore'), ['-l', file], { encoding: 'utf8' })).toMatch(/TABLE public posts/);
    const history = await core.getHistory({ limit: 10 });
    expect(JSON.stringify(history)).not.toContain(pg.password);
    // The health line the status (and the heartbeat) carries: asked at start.
    const health = await waitFor('the health check', async () => (await core?.getStatus())?.sources.find((s) => s.path === 'postgres:shop-db')?.health);
    expect(health).toMatchObject({ ok: true, line: expect.stringMatching(/^PostgreSQL 15\.\d+, 3 databases to back up$/) });
  }, 180_000);

  it('a wrong password and a server killed mid-dump give failed runs and no snapshot', async () => {
    const dir = tempDir('rma-pg-src-');
    const repo = await initRepo(bin, dir, 'main');
    const wrong = join(dir, 'wrong.pass');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const right = join(dir, 'pg.pass');
    writeFileSync(right, `${pg.password}\n`, { mode: 0o600 });
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      '  postgres:',
      `    - { name: wrong, host: ${pg.host}, user: postgres, password_file: ${wrong}, databases: [shop], globals: false, bin_dir: ${PG_BIN} }`,
      `    - { name: big, host: ${pg.host}, user: postgres, password_file: ${right}, databases: [big], globals: false, bin_dir: ${PG_BIN} }`,
    ]);
    core = await startCore(dir);
    const snapshots = () =>
      (
        JSON.parse(
          execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' }),
        ) as unknown[]
      ).length;

    const unhealthy = await waitFor('the health check', async () => (await core?.getStatus())?.sources.find((s) => s.path === 'postgres:wrong')?.health);
    expect(unhealthy).toMatchObject({ ok: false, line: expect.stringMatching(/password authentication failed/) });
    const [denied] = await core.runNow({ kind: 'backup', source: 'wrong' });
    expect(denied, JSON.stringify(denied)).toMatchObject({ outcome: 'failed', snapshotId: null });
    expect(snapshots()).toBe(0);

    const running = core.runNow({ kind: 'backup', source: 'big' });
    // Stopped once pg_dump is copying the table, not merely started (restic 0.19 starts it from its own argv).
    await waitFor(
      'pg_dump to copy the big table',
      async () => Number(await pg.sql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY public.blobs%'")) > 0,
      30_000,
      5,
    );
    await pg.stop();
    const [killed] = await running;
    await pg.start();
    expect(killed, JSON.stringify(killed)).toMatchObject({ outcome: 'failed', snapshotId: null });
    expect(killed?.message).toMatch(/pg_dump: (error|detail): .*(server closed the connection|terminating connection)/);
    expect(snapshots()).toBe(0);
  }, 180_000);
});

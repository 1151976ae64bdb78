// The mysql plugin against a real private MariaDB 10.11 (password auth over its socket), through the real agent
// core and real restic 0.14 and 0.19: one snapshot per database, the password never in argv, a restore into a new
// database that matches the original's checksums; a wrong password and a server killed mid-dump each leave a failed
// run and no snapshot.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { sampleArgv } from '../../helpers/argv-sampler.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { haveMariaDb, startMariaDb, type MariaDbServer } from '../../servers/mariadb.js';
import { waitFor } from '../../helpers/wait.js';
import { initRepo, startCore, writeConfig } from '../scheduling/harness.js';

let my: MariaDbServer;
let core: AgentCore | null = null;
const fingerprint = async (db: string) =>
  `${await my.sql(db, 'SELECT count(*) FROM orders')} ${await my.sql(db, 'SELECT md5(group_concat(id, item, price ORDER BY id)) FROM orders')}`;

beforeAll(async () => {
  if (!haveMariaDb()) return;
  my = await startMariaDb();
  // Big enough that its dump takes a moment: the server is killed while it streams.
  await my.sql(null, 'CREATE DATABASE big');
  await my.sql(
    'big',
    'CREATE TABLE blobs (id INT PRIMARY KEY, data TEXT) ENGINE=InnoDB; INSERT INTO blobs SELECT seq, REPEAT(MD5(seq), 20) FROM seq_1_to_300000',
  );
}, 180_000);
afterAll(() => my?.dispose());
afterEach(async () => {
  await core?.stop();
  core = null;
});

describe.skipIf(!haveMariaDb()).each(resticBins().map((b) => [b.label, b.path] as const))('mysql source with %s', (_label, bin) => {
  it('backs up each database, restores one into a new database, and never puts the password in argv', async () => {
    await my.sql(
      null,
      'DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS shop_restored; DROP DATABASE IF EXISTS blog; CREATE DATABASE shop; CREATE DATABASE blog',
    );
    await my.sql(
      'shop',
      "CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(50), price DECIMAL(10,2)) ENGINE=InnoDB; INSERT INTO orders SELECT seq, CONCAT('item ', seq), seq * 1.5 FROM seq_1_to_5000",
    );
    await my.sql('blog', "CREATE TABLE posts (id INT PRIMARY KEY, body TEXT); INSERT INTO posts VALUES (1, 'hello')");
    const dir = tempDir('rma-my-src-');
    const repo = await initRepo(bin, dir, 'main');
    const pwFile = join(dir, 'my.pass');
    writeFileSync(pwFile, `${my.password}\n`, { mode: 0o600 });
    const wrong = join(dir, 'wrong.pass');
    writeFileSync(wrong, 'nope\n', { mode: 0o600 });
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      '  mysql:',
      `    - { name: shop-db, socket: ${my.socket}, user: root, password_file: ${pwFile}, databases: all, exclude_databases: [mysql, test, big] }`,
      `    - { name: denied, socket: ${my.socket}, user: root, password_file: ${wrong}, databases: [shop] }`,
    ]);
    core = await startCore(dir);
    const snaps = () =>
      JSON.parse(execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' })) as Array<{
        paths: string[];
        tags: string[];
      }>;

    const argv = sampleArgv([my.password]);
    const [rec] = await core.runNow({ kind: 'backup', source: 'shop-db' });
    const { commands, leaks } = argv.stop();
    expect(rec, JSON.stringify(rec)).toMatchObject({ source: 'mysql:shop-db', outcome: 'success' });
    expect(leaks).toEqual([]);
    expect([...commands].some((c) => c.includes('mysqldump') && c.includes('--single-transaction'))).toBe(true);
    expect(
      snaps()
        .map((s) => s.paths[0])
        .sort(),
    ).toEqual(['/mysql/blog.sql', '/mysql/shop.sql']);
    expect(snaps().find((s) => s.paths[0] === '/mysql/shop.sql')?.tags).toEqual(expect.arrayContaining(['plugin:mysql', 'source:shop-db', 'db:shop']));

    const original = await fingerprint('shop');
    await my.sql('shop', 'DELETE FROM orders WHERE id % 3 = 0');
    const [restored] = await core.runNow({
      kind: 'restore',
      source: 'shop-db',
      snapshotId: null,
      item: 'shop',
      target: { kind: 'database', name: 'shop_restored' },
    });
    expect(restored, JSON.stringify(restored)).toMatchObject({ kind: 'restore', outcome: 'success' });
    expect(await fingerprint('shop_restored')).toBe(original);
    const [again] = await core.runNow({
      kind: 'restore',
      source: 'shop-db',
      snapshotId: null,
      item: 'shop',
      target: { kind: 'database', name: 'shop_restored' },
    });
    expect(again?.outcome).toBe('failed');

    const [denied] = await core.runNow({ kind: 'backup', source: 'denied' });
    expect(denied, JSON.stringify(denied)).toMatchObject({ outcome: 'failed', snapshotId: null });
    expect(snaps()).toHaveLength(2);
    expect(JSON.stringify(await core.getHistory({ limit: 20 }))).not.toContain(my.password);
  }, 180_000);

  it('a server killed mid-dump gives a failed run and no snapshot', async () => {
    const dir = tempDir('rma-my-kill-');
    const repo = await initRepo(bin, dir, 'main');
    const pwFile = join(dir, 'my.pass');
    writeFileSync(pwFile, `${my.password}\n`, { mode: 0o600 });
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      `  mysql: [ { name: big, socket: ${my.socket}, user: root, password_file: ${pwFile}, databases: [big] } ]`,
    ]);
    core = await startCore(dir);
    const running = core.runNow({ kind: 'backup', source: 'big' });
    // Killed once mysqldump is reading the table, not merely started (restic 0.19 starts it from its own argv).
    await waitFor(
      'mysqldump to read the big table',
      async () => Number(await my.sql(null, "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT%FROM `blobs`'")) > 0,
      30_000,
      5,
    );
    await my.kill();
    const [killed] = await running;
    await my.start();
    expect(killed, JSON.stringify(killed)).toMatchObject({ outcome: 'failed', snapshotId: null });
    expect(killed?.message).toMatch(/mysqldump: Error 2013: Lost connection/);
    const snapshots = JSON.parse(
      execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' }),
    ) as unknown[];
    expect(snapshots).toEqual([]);
  }, 120_000);
});

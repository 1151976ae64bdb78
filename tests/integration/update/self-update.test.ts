// Auto-update through the real single-file binaries (`npm run dist` builds an A = 0.1.0 and a B = 0.2.0 that trust
// one release key), from a real HTTPS feed on loopback behind a private CA: A → B by hand and by the daemon (which
// waits for the running backup's snapshot), and every refusal — tampered binary, bad signature, unknown key,
// downgrade, a B that exits 1 in its health check, a kill -9 mid-download — leaves A in place and runnable.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain JS build script (no types): the same signing `npm run dist` uses
import { publicKeyText, signBytes } from '../../../scripts/feed-sign.js';
import { createFaultProxy } from '../../../reference-orchestrator/testing/fault-proxy.js';
import { startReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { makePki } from '../../helpers/pki.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { waitFor } from '../../helpers/wait.js';
import { useCheapKdf } from '../../helpers/fast-kdf.js';

const run = promisify(execFile);
const restic = resticBins().at(-1)?.path ?? '/usr/bin/restic';
const canBuild = process.platform === 'linux' && process.arch === 'x64';
let work = '';
let server: Server;
let base = '';
let caFile = '';
/** What the feed serves: path → bytes (a function: decided per request), optionally slowly. */
const routes = new Map<string, { body: () => Buffer; slow?: boolean }>();
const trusted = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const stranger = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
let binA = '';
let binB = '';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Publishes a feed under /<name>/: a manifest of `releases` (version → binary bytes), signed by `key`. */
function publish(name: string, releases: Record<string, Buffer>, opts: { key?: string; tamper?: 'binary' | 'manifest'; slow?: boolean } = {}) {
  const list = Object.entries(releases).map(([version, bytes]) => ({
    version,
    platforms: { 'linux-x64': { url: `restic-agent-${version}`, size: bytes.length, sha256: sha(bytes) } },
  }));
  const json = Buffer.from(JSON.stringify({ schema: 1, channel: 'stable', releases: list }, null, 2));
  const sig = signBytes(opts.key ?? trusted, json) as string;
  const served = opts.tamper === 'manifest' ? Buffer.from(json.toString().replace('"stable"', '"stable" ')) : json;
  routes.set(`/${name}/stable.json`, { body: () => served });
  routes.set(`/${name}/stable.json.sig`, { body: () => Buffer.from(sig) });
  for (const [version, bytes] of Object.entries(releases)) {
    const body = opts.tamper === 'binary' ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes.at(-1)! ^ 1])]) : bytes;
    routes.set(`/${name}/restic-agent-${version}`, { body: () => body, slow: opts.slow ?? false });
  }
}

/** A fresh install dir: A as `bin/restic-agent` (hard link), a repository, and a config whose feed is /<feed>/. */
function install(feed: string, extra: string[] = []): { dir: string; binary: string; config: string; agent: (...a: string[]) => Promise<Result> } {
  const dir = mkdtempSync(join(work, 'inst-'));
  mkdirSync(join(dir, 'bin'));
  const binary = join(dir, 'bin', 'restic-agent');
  linkSync(binA, binary);
  writeFileSync(join(dir, 'pass'), 'update-test\n', { mode: 0o600 });
  execFileSync(restic, ['init', '-r', join(dir, 'repo'), '--password-file', join(dir, 'pass')], { stdio: 'ignore' });
  useCheapKdf(join(dir, 'repo'), 'update-test');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'a.txt'), 'data\n');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `repository: { url: ${join(dir, 'repo')}, password_file: ${join(dir, 'pass')} }`,
      `restic: { binary: ${restic} }`,
      'secrets: { backend: file }',
      `agent: { data_dir: ${join(dir, 'data')} }`,
      `update: { enabled: true, feed: "${base}/${feed}/", ca_file: ${caFile}, check_every: 1s }`,
      ...extra,
    ].join('\n'),
  );
  // Asynchronous: the feed server runs in this process and must keep answering.
  const agent = (...a: string[]) =>
    run(binary, ['--config', config, ...a], { env: { ...process.env, HOME: dir }, maxBuffer: 1 << 24 }).then(
      (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ status: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  return { dir, binary, config, agent };
}
interface Result {
  status: number;
  stdout: string;
  stderr: string;
}
const versionOf = (binary: string) => execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim().split(' ')[0];
const updateState = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'data', 'update.json'), 'utf8')) as {
    lastUpdate: { result: string; to: string; at: string; message: string } | null;
    failedVersions: string[];
  };

beforeAll(async () => {
  if (!canBuild) return;
  work = mkdtempSync(join(tmpdir(), 'rma-update-'));
  const pub = publicKeyText(trusted).text as string;
  const build = (version: string) =>
    run(process.execPath, ['scripts/build-dist.js', `--out=${join(work, version)}`, '--only=linux-x64', '--no-deb', `--version=${version}`], {
      env: { ...process.env, RMA_RELEASE_PUBLIC_KEYS: pub },
      maxBuffer: 1 << 24,
    });
  await build('0.1.0');
  await build('0.2.0');
  binA = join(work, '0.1.0', 'restic-agent-linux-x64');
  binB = join(work, '0.2.0', 'restic-agent-linux-x64');
  const pki = makePki(mkdtempSync(join(work, 'pki-')));
  caFile = pki.caFile;
  server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    const r = routes.get(req.url ?? '');
    if (!r) return void res.writeHead(404).end();
    const body = r.body();
    res.writeHead(200, { 'content-length': body.length });
    if (!r.slow) return void res.end(body);
    let at = 0; // 1 MiB every 200 ms: a kill -9 lands mid-download
    const t = setInterval(() => {
      if (at >= body.length || res.destroyed) return void (clearInterval(t), res.end());
      res.write(body.subarray(at, (at += 1 << 20)));
    }, 200);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  const B = readFileSync(binB);
  publish('good', { '0.2.0': B });
  publish('tampered', { '0.2.0': B }, { tamper: 'binary' });
  publish('badsig', { '0.2.0': B }, { tamper: 'manifest' });
  publish('unknown', { '0.2.0': B }, { key: stranger });
  publish('older', { '0.0.9': Buffer.from('never downloaded') });
  publish('broken', { '0.3.0': Buffer.from('#!/bin/sh\necho "B is broken" >&2\nexit 1\n') });
  publish('slow', { '0.2.0': B }, { slow: true });
}, 240_000);
afterAll(() => {
  server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!canBuild)('auto-update of the single-file binary', () => {
  it('by hand: update --check names B, update swaps it in (A kept as .previous), --version says B', async () => {
    const { dir, binary, agent } = install('good');
    expect((await agent('update', '--check')).stdout).toMatch(/0\.2\.0 is available \(running 0\.1\.0\)/);
    const r = await agent('update');
    expect(r.status, r.stderr).toBe(0);
    expect(versionOf(binary)).toBe('0.2.0');
    expect(versionOf(`${binary}.previous`)).toBe('0.1.0');
    expect(updateState(dir).lastUpdate).toMatchObject({ result: 'applied', to: '0.2.0' });
    expect((await agent('status')).stdout).toMatch(/last update: .* 0\.1\.0 → 0\.2\.0 applied/);
    expect((await agent('update')).stdout).toMatch(/0\.2\.0 is up to date/);
  }, 120_000);

  it.each([
    ['tampered', /SHA-256 is [0-9a-f]{64}, the signed manifest says/, []],
    ['badsig', /bad signature: the manifest does not match its signature/, []],
    ['unknown', /signed with key [0-9a-f]{16}, which this agent does not trust/, []],
    ['older', /0\.0\.9 is older than the running 0\.1\.0: a downgrade needs --allow-downgrade/, ['--to', '0.0.9']],
  ])(
    'refuses the %s feed with a clear message, and A stays',
    async (feed, message, args) => {
      const { dir, binary, agent } = install(feed);
      const r = await agent('update', ...args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(versionOf(binary)).toBe('0.1.0');
      expect(existsSync(`${binary}.previous`)).toBe(false);
      expect(readdirSync(join(dir, 'bin'))).toEqual(['restic-agent']);
    },
    60_000,
  );

  it('a B that exits 1 in its health check is never swapped in, is reported, and is not retried', async () => {
    const { dir, binary, agent } = install('broken');
    const r = await agent('update');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/failed its health check: it exited 1 \(B is broken\)/);
    expect(versionOf(binary)).toBe('0.1.0');
    expect(readdirSync(join(dir, 'bin'))).toEqual(['restic-agent']);
    expect(updateState(dir)).toMatchObject({ failedVersions: ['0.3.0'], lastUpdate: { result: 'failed', to: '0.3.0' } });
    expect((await agent('status')).stdout).toMatch(/not retried: +0\.3\.0/);
    expect((await agent('update')).stderr).toMatch(/0\.3\.0 failed its health check here before and is not retried/);
  }, 60_000);

  it('managed: B must complete one heartbeat in its health check; refused, it is not swapped in and A reports it', async () => {
    const orch = await startReferenceOrchestrator(mkdtempSync(join(work, 'orch-')));
    const proxy = await createFaultProxy({ target: orch.url });
    const enrolled = async () => {
      const inst = install('good');
      writeFileSync(join(inst.dir, 'token'), (await orch.admin.createEnrollmentToken()).token, { mode: 0o600 });
      const e = await inst.agent('enroll', '--url', proxy.url, '--token-file', join(inst.dir, 'token'), '--protocol', 'v1', '--insecure-loopback');
      expect(e.status, e.stderr).toBe(0);
      return inst;
    };
    let daemon: ReturnType<typeof spawn> | null = null;
    try {
      // The orchestrator refuses B's heartbeat (as it would a B that sends a broken one): B fails its health check.
      const refused = proxy.addRule({
        method: 'POST',
        path: /\/heartbeat$/,
        bodyMatch: (b) => b.includes('"agent_version":"0.2.0"'),
        action: { kind: 'status', status: 500 },
      });
      const sick = await enrolled();
      const r = await sick.agent('update');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/failed its health check: it exited 1 \(restic-agent: the heartbeat failed/);
      expect(refused.hits).toBeGreaterThan(0);
      expect(versionOf(sick.binary)).toBe('0.1.0');
      expect(updateState(sick.dir).failedVersions).toEqual(['0.2.0']);
      // A, still in place, reports the failed update in its next heartbeat.
      daemon = spawn(sick.binary, ['--config', sick.config, 'run'], { stdio: 'ignore', env: { ...process.env, HOME: sick.dir } });
      const reportsFailure = (body: string) => {
        const b = JSON.parse(body || '{}') as { agent_version?: string; update?: { last_update?: { to: string; result: string }; failed_versions?: string[] } };
        return b.agent_version === '0.1.0' && b.update?.last_update?.result === 'failed' && b.update.failed_versions?.includes('0.2.0') === true;
      };
      await waitFor('A to report the failed update', () => proxy.log.some((l) => l.path.endsWith('/heartbeat') && reportsFailure(l.body)), 30_000, 100);
      refused.remove();
      daemon.kill('SIGTERM');
      await new Promise((res) => daemon!.once('exit', res));
      daemon = null;

      // Accepted, the same B passes its health check with exactly one heartbeat, and claims nothing.
      const healthy = await enrolled();
      const agentId = (await orch.admin.listAgents()).at(-1)!.agent_id;
      const repo = { repo_id: 'rep_1', url: join(healthy.dir, 'repo'), password: 'update-test', env: {} };
      const task = await orch.admin.createTask(agentId, 'backup', { paths: [join(healthy.dir, 'src')], tags: [] }, { repo });
      const mark = proxy.log.length;
      const ok = await healthy.agent('update');
      expect(ok.status, ok.stderr).toBe(0);
      expect(versionOf(healthy.binary)).toBe('0.2.0');
      const seen = proxy.log.slice(mark);
      expect(seen.filter((l) => l.path.endsWith('/heartbeat') && l.body.includes('"agent_version":"0.2.0"') && l.status === 200)).toHaveLength(1);
      expect(seen.filter((l) => l.method === 'GET' && /\/tasks(\?|$)/.test(l.path))).toHaveLength(0);
      expect((await orch.admin.getTask(task.task_id)).state).toBe('pending');
    } finally {
      daemon?.kill('SIGTERM');
      if (daemon) await new Promise((res) => daemon!.once('exit', res));
      await proxy.close();
      await orch.stop();
    }
  }, 120_000);

  it('a kill -9 in the middle of the download leaves A runnable; the next start removes the partial file', async () => {
    const { dir, binary, config } = install('slow');
    const child = spawn(binary, ['--config', config, 'update'], { stdio: 'ignore', env: { ...process.env, HOME: dir } });
    const partial = () => readdirSync(join(dir, 'bin')).find((f) => f.endsWith('.new'));
    await waitFor('the download to begin', () => partial() !== undefined, 30_000, 20);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(versionOf(binary)).toBe('0.1.0');
    expect(partial()).toBeDefined();
    // The next update (and the next `run`) removes what the interrupted one left, then completes.
    routes.set('/slow/restic-agent-0.2.0', { body: routes.get('/good/restic-agent-0.2.0')!.body });
    await run(binary, ['--config', config, 'update'], { env: { ...process.env, HOME: dir } });
    expect(partial()).toBeUndefined();
    expect(versionOf(binary)).toBe('0.2.0');
  }, 120_000);

  it('under a service manager the daemon exits 75 after the swap, and the manager’s restart runs B', async () => {
    const { dir, binary, config } = install('good');
    // The part of systemd's Restart=on-failure this needs: start again after a failing exit, here at most twice.
    const exits: Array<number | null> = [];
    let current: ReturnType<typeof spawn> | null = null;
    const start = () => {
      const child = spawn(binary, ['--config', config, 'run'], { stdio: 'ignore', env: { ...process.env, HOME: dir, RESTIC_AGENT_SERVICE: '1' } });
      current = child;
      child.once('exit', (code) => {
        exits.push(code);
        if (code !== 0 && exits.length < 2) start();
      });
    };
    start();
    try {
      await waitFor(
        'B to confirm it runs',
        () => existsSync(join(dir, 'data', 'update.json')) && updateState(dir).lastUpdate?.result === 'applied',
        60_000,
        100,
      );
      expect(exits).toEqual([75]);
      expect(versionOf(binary)).toBe('0.2.0');
    } finally {
      const last = current as ReturnType<typeof spawn> | null;
      last?.kill('SIGTERM');
      if (last && last.exitCode === null) await new Promise((r) => last.once('exit', r));
    }
    expect(exits).toEqual([75, 0]);
  }, 120_000);

  it('the daemon updates itself, but only once the running backup has committed its snapshot, and restarts as B', async () => {
    routes.set('/later/stable.json', { body: () => Buffer.from('not yet') });
    const { dir, binary, config } = install('later', [
      `backup: { sources: [ { path: SRC, policy: quick, hooks: { before: 'sleep 3' } } ] }`,
      'policies: { quick: { schedule: every 2s, conditions: { ac_power_only: false, not_on_metered: false } } }',
    ]);
    writeFileSync(config, readFileSync(config, 'utf8').replace('SRC', join(dir, 'src')).replace('agent: {', 'agent: { catch_up_delay: 1s,'));
    let log = '';
    const daemon = spawn(binary, ['--config', config, 'run'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: dir } });
    daemon.stderr.on('data', (c: Buffer) => (log += c.toString()));
    try {
      await waitFor('the backup to start (its before hook)', () => /sleep 3/.test(log), 30_000, 20).catch((e: Error) => {
        throw new Error(`${e.message}\n${log}`);
      });
      const good = ['stable.json', 'stable.json.sig', 'restic-agent-0.2.0'];
      for (const f of good) routes.set(`/later/${f}`, routes.get(`/good/${f}`)!);
      await waitFor(
        'B to confirm it runs',
        () => existsSync(join(dir, 'data', 'update.json')) && updateState(dir).lastUpdate?.result === 'applied',
        60_000,
        100,
      );
      expect(versionOf(binary)).toBe('0.2.0');
      const snaps = JSON.parse(
        execFileSync(restic, ['-r', join(dir, 'repo'), '--password-file', join(dir, 'pass'), 'snapshots', '--json'], { encoding: 'utf8' }),
      ) as Array<{ time: string }>;
      expect(snaps.length).toBeGreaterThan(0);
      expect(Date.parse(snaps[0]!.time)).toBeLessThan(Date.parse(updateState(dir).lastUpdate!.at));
      expect(log).toMatch(/update: waiting for running restic to finish/);
    } finally {
      daemon.kill('SIGTERM');
      spawnSync('pkill', ['-TERM', '-f', `${binary} --config ${config} run`]);
      await waitFor('B to stop', () => spawnSync('pgrep', ['-f', `${binary} --config ${config} run`]).status !== 0, 30_000, 100);
    }
  }, 120_000);
});

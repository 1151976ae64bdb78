/**
 * Issue #10, through the real `restic-agent` CLI against a strict protocol-v1 server written from the spec
 * (`tests/fakes/strict-v1-server.ts`), with the real 0600 file secret store: credentials per orchestrator, the
 * CA pin on every connection, a quiet `protocol: auto`, and a data dir that follows `--config`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../../../src/shared/model/status.js';
import { startStrictV1, type StrictV1Server } from '../../../fakes/strict-v1-server.js';
import { makePki } from '../../../helpers/pki.js';
import { resticBins } from '../../../helpers/restic-bins.js';
import { tempDir } from '../../../helpers/tmp.js';
import { waitFor, sleep } from '../../../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../../../bin/restic-agent.js', import.meta.url));
const execFileP = promisify(execFile);
const restic = resticBins().at(-1)!.path;

const servers: StrictV1Server[] = [];
const daemons: ChildProcess[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    if (d.exitCode === null && d.signalCode === null) {
      d.kill('SIGKILL');
      await new Promise((r) => d.once('exit', r));
    }
  }
  for (const s of servers.splice(0)) await s.close();
});

async function server(opts: Parameters<typeof startStrictV1>[0] = {}): Promise<StrictV1Server> {
  const s = await startStrictV1(opts);
  servers.push(s);
  return s;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function env(dir: string, withDataDir = true): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  if (withDataDir) e.RESTIC_AGENT_DATA_DIR = join(dir, 'data');
  else delete e.RESTIC_AGENT_DATA_DIR;
  return e;
}

async function cli(dir: string, args: string[], opts: { config?: string; withDataDir?: boolean } = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, '--config', opts.config ?? join(dir, 'config.yaml'), ...args], {
      env: env(dir, opts.withDataDir),
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function daemon(dir: string): { proc: ChildProcess; stderr: () => string } {
  const proc = spawn(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), 'run'], { env: env(dir), stdio: ['ignore', 'ignore', 'pipe'] });
  daemons.push(proc);
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  return { proc, stderr: () => err };
}

async function stop(proc: ChildProcess): Promise<void> {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

function baseConfig(dir: string, extra: string[] = []): void {
  writeFileSync(
    join(dir, 'config.yaml'),
    ['agent: { id: agent-1, hostname: host-1, heartbeat_interval: 1s }', `restic: { binary: ${restic} }`, 'secrets: { backend: file }', ...extra].join('\n') +
      '\n',
  );
}

const secretsFile = (dir: string): Record<string, string> =>
  (JSON.parse(readFileSync(join(dir, 'data', 'secrets.json'), 'utf8')) as { secrets: Record<string, string> }).secrets;

async function enroll(dir: string, s: StrictV1Server, token: string, extra: string[] = []): Promise<Result> {
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  return cli(dir, ['enroll', '--url', s.url, '--token-file', join(dir, 'token'), ...(s.url.startsWith('http:') ? ['--insecure-loopback'] : []), ...extra]);
}

describe('hardening (#10) against a strict v1 server', () => {
  it('1. a YAML token for another orchestrator wins, is proven, then removed; the first server’s token is kept under its own account', async () => {
    const dir = tempDir('rma-hard-');
    baseConfig(dir);
    const a = await server();
    a.enrollmentTokens.add('bke_a1.enrollsecret');
    const enrolled = await enroll(dir, a, 'bke_a1.enrollsecret');
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const tokenA = [...a.agentTokens][0]!;
    expect(Object.values(secretsFile(dir))).toContain(tokenA);

    // Enrolling again without --force is refused and says what it would replace.
    const again = await enroll(dir, a, 'bke_a1.enrollsecret');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already enrolled with http:\/\/127\.0\.0\.1:\d+ \(v1\).*add --force/);

    const b = await server();
    const tokenB = 'bka_token_for_server_b_0123456789';
    b.agentTokens.add(tokenB);
    baseConfig(dir, ['orchestrator:', `  url: ${b.url}`, '  protocol: v1', '  insecure_loopback: true', `  token: ${tokenB}`]);
    const d = daemon(dir);
    await waitFor('an authenticated heartbeat at B', () => b.requests.some((r) => r.path.endsWith('/heartbeat') && r.authorization === `Bearer ${tokenB}`));
    await waitFor('the token to leave the file after it was proven', () => !readFileSync(join(dir, 'config.yaml'), 'utf8').includes(tokenB));
    await stop(d.proc);
    expect(b.requests.some((r) => r.authorization === `Bearer ${tokenA}`)).toBe(false);
    expect(d.stderr()).toMatch(/orchestrator\.token was accepted by .* and removed from/);
    // Both tokens are kept, each under an account named after its orchestrator.
    const stored = Object.entries(secretsFile(dir));
    expect(stored.find(([, v]) => v === tokenB)?.[0]).toContain(new URL(b.url).host);
    expect(stored.find(([, v]) => v === tokenA)?.[0]).toContain(new URL(a.url).host);

    const status = JSON.parse((await cli(dir, ['--json', 'status'])).stdout) as AgentStatus;
    expect(status.credential).toMatchObject({ orchestrator: b.url, dialect: 'v1' });
    expect(Date.parse(status.credential!.lastWorkedAt!)).toBeGreaterThan(Date.now() - 120_000);
    const text = (await cli(dir, ['status'])).stdout;
    expect(text).toMatch(new RegExp(`orchestrator: ${b.url.replace(/[.]/g, '\\.')} \\(v1\\), credential in file .*last worked \\d{4}-`));
  }, 60_000);

  it('1. a YAML token the server refuses stays in the file', async () => {
    const dir = tempDir('rma-hard-');
    const b = await server();
    baseConfig(dir, ['orchestrator:', `  url: ${b.url}`, '  protocol: v1', '  insecure_loopback: true', '  token: bka_wrong_token_0123456789']);
    const d = daemon(dir);
    await waitFor('a refused heartbeat', () => b.requests.some((r) => r.path.endsWith('/heartbeat')));
    await sleep(1500);
    await stop(d.proc);
    expect(readFileSync(join(dir, 'config.yaml'), 'utf8')).toContain('bka_wrong_token_0123456789');
  }, 30_000);

  it('2. with a CA pin that matches no certificate of the chain, not one request reaches the server (probe included)', async () => {
    const dir = tempDir('rma-hard-');
    baseConfig(dir);
    const pki = makePki(dir);
    const s = await server({ tls: { key: pki.key, cert: pki.cert } });
    s.enrollmentTokens.add('bke_p1.pinsecret');
    const wrongPin = `spki-sha256:${Buffer.alloc(32, 7).toString('base64')}`;
    const refused = await enroll(dir, s, `bke_p1.pinsecret#${wrongPin}`, ['--ca-file', pki.caFile]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/CA pin/);
    expect(s.requests).toEqual([]);

    const ok = await enroll(dir, s, `bke_p1.pinsecret#${pki.caPin}`, ['--ca-file', pki.caFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(s.violations).toEqual([]);
  }, 30_000);

  it('3. protocol auto asks v1 with a conformant request first, never a restic-monitor route, and remembers the answer', async () => {
    const dir = tempDir('rma-hard-');
    const s = await server();
    const token = 'bka_token_for_auto_0123456789';
    s.agentTokens.add(token);
    baseConfig(dir, ['orchestrator:', `  url: ${s.url}`, '  protocol: auto', '  insecure_loopback: true', `  token: ${token}`]);
    for (let i = 0; i < 2; i++) {
      const d = daemon(dir);
      const seen = s.requests.length;
      await waitFor('an authenticated heartbeat', () =>
        s.requests.slice(seen).some((r) => r.path.endsWith('/heartbeat') && r.authorization === `Bearer ${token}`),
      );
      await stop(d.proc);
    }
    expect(s.violations).toEqual([]);
    expect(s.requests.some((r) => r.path === '/agents/register')).toBe(false);
    // One probe (no credential) in two starts: the second start used the remembered dialect.
    expect(s.requests.filter((r) => r.authorization === null)).toHaveLength(1);
  }, 40_000);

  it('6. a config that is not the default one gets its own data dir, and the start line says which', async () => {
    const dir = tempDir('rma-hard-');
    baseConfig(dir);
    const cfg = join(dir, 'other.yaml');
    writeFileSync(cfg, readFileSync(join(dir, 'config.yaml')));
    const r = await cli(dir, ['status'], { config: cfg, withDataDir: false });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'other-data', 'state.db'))).toBe(true);
    const proc = spawn(process.execPath, [CLI, '--config', cfg, 'run'], { env: env(dir, false), stdio: ['ignore', 'ignore', 'pipe'] });
    daemons.push(proc);
    let err = '';
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    await waitFor('the start line', () => err.includes('agent started'));
    await stop(proc);
    expect(err).toContain(`data dir ${join(dir, 'other-data')}`);
    expect(err).toMatch(/secrets in file \(.*other-data\/secrets\.json\)/);
  }, 30_000);
});

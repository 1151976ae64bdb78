// A private Docker Engine for plugin tests: its own data root, exec root and socket in a temp dir, vfs storage,
// no network, and a tiny image built from Debian's static busybox (no registry is reachable).
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

export interface DockerEngine {
  readonly socket: string;
  /** The busybox image (`sh`, `sleep`, `cat`, `tar`…). */
  readonly image: string;
  /** The docker CLI against this engine (the test's own tool; the agent talks to the API). */
  docker(...args: string[]): Promise<string>;
  dispose(): Promise<void>;
}

export function haveDocker(): boolean {
  return userInfo().uid === 0 && existsSync('/usr/sbin/dockerd') && existsSync('/bin/busybox');
}

export async function startDocker(): Promise<DockerEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-dk-'));
  const socket = join(dir, 'docker.sock');
  const daemon = spawn(
    'dockerd',
    ['--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec'), '-H', `unix://${socket}`, '--pidfile', join(dir, 'pid')].concat([
      '--storage-driver',
      'vfs',
      '--iptables=false',
      '--bridge=none',
    ]),
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const docker = async (...args: string[]) =>
    (await run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${socket}` }, maxBuffer: 64 << 20 })).stdout.trim();
  await waitFor(
    'dockerd to answer',
    () =>
      docker('info').then(
        () => true,
        () => false,
      ),
    60_000,
    250,
  );
  const img = join(dir, 'img');
  mkdirSync(join(img, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(img, 'bin', 'busybox'));
  for (const c of ['sh', 'sleep', 'cat', 'ls', 'tar', 'dd']) symlinkSync('busybox', join(img, 'bin', c));
  await run('sh', ['-c', `tar -C "${img}" -c . | DOCKER_HOST=unix://${socket} docker import - bb:local`]);
  return {
    socket,
    image: 'bb:local',
    docker,
    async dispose() {
      await docker('rm', '-f', ...(await docker('ps', '-aq')).split('\n').filter(Boolean)).catch(() => '');
      daemon.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

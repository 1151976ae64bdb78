// The docker plugin against a real private Docker Engine (its own socket, vfs, no network), through the real agent
// core and real restic 0.14 and 0.19: one snapshot per volume (selected by name or by label), the containers using
// a volume stopped for the copy and running again afterwards, a restore into a new volume that matches the
// original file for file (content, mode, owner), and a `kill -9` of the agent mid-backup after which the next
// start runs the stopped container again. The same through a helper container (`copy_via: helper`, the route for
// volumes the agent cannot read on disk): a tar streamed over the Engine API, restored file for file, no helper left
// behind, also after a `kill -9`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { haveDocker, startDocker, type DockerEngine } from '../../servers/docker.js';
import { initRepo, startCore, writeConfig } from '../scheduling/harness.js';

const CLI = fileURLToPath(new URL('../../../bin/restic-agent.js', import.meta.url));

let dk: DockerEngine;
let core: AgentCore | null = null;

beforeAll(async () => {
  if (haveDocker()) dk = await startDocker();
}, 120_000);
afterAll(() => dk?.dispose());
afterEach(async () => {
  await core?.stop();
  core = null;
});

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const mountpoint = (volume: string) => dk.docker('volume', 'inspect', '-f', '{{.Mountpoint}}', volume);
const running = async (container: string) => (await dk.docker('inspect', '-f', '{{.State.Running}}', container)) === 'true';
const startedAt = (container: string) => dk.docker('inspect', '-f', '{{.State.StartedAt}}', container);

/** Every entry under `root`: path, type, mode, owner, and a hash of each file's content. */
function fingerprint(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const content = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : '';
      out.push(`${relative(root, p)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${content}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

describe.skipIf(!haveDocker()).each(resticBins().map((b) => [b.label, b.path] as const))('docker source with %s', (label, bin) => {
  const v = (name: string) => `${name}-${label.replace(/\D/g, '').slice(0, 3)}`;

  it('backs up volumes by name and by label, restarts their containers, and restores one into a new volume', async () => {
    const [uploads, pgdata, app] = [v('uploads'), v('pgdata'), v('app')];
    await dk.docker('volume', 'create', uploads);
    await dk.docker('volume', 'create', '--label', `backup=${v('yes')}`, pgdata);
    await dk.docker(
      ...['run', '--rm', '--network', 'none', '-v', `${uploads}:/data`, dk.image, 'sh', '-c'],
      'mkdir -p /data/a/b && echo hello > /data/a/b/c && chown 1234:5678 /data/a/b/c && chmod 640 /data/a/b/c && dd if=/dev/urandom of=/data/blob bs=1024 count=4096 2>/dev/null',
    );
    await dk.docker('run', '--rm', '--network', 'none', '-v', `${pgdata}:/data`, dk.image, 'sh', '-c', 'echo pg > /data/PG_VERSION');
    await dk.docker('run', '-d', '--name', app, '--network', 'none', '-v', `${uploads}:/data`, dk.image, 'sleep', '1000');
    const before = await startedAt(app);

    const dir = tempDir('rma-dk-src-');
    const repo = await initRepo(bin, dir, 'main');
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      '  docker:',
      `    - { name: app-volumes, socket: ${dk.socket}, volumes: [${uploads}, ${pgdata}], stop_containers: true, stop_timeout: 1 }`,
      `    - { name: labelled, socket: ${dk.socket}, label: backup=${v('yes')} }`,
      `    - { name: missing, socket: ${dk.socket}, volumes: [nope] }`,
    ]);
    core = await startCore(dir);
    const snaps = () =>
      JSON.parse(execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' })) as Array<{
        paths: string[];
        tags: string[];
      }>;

    const [rec] = await core.runNow({ kind: 'backup', source: 'app-volumes' });
    expect(rec, JSON.stringify(rec)).toMatchObject({ source: 'docker:app-volumes', outcome: 'success' });
    expect(rec?.message).toMatch(new RegExp(`2 snapshots: docker/${uploads} \\w+; docker/${pgdata} \\w+`));
    // Stopped for the copy (a new start time) and running again.
    expect(await running(app)).toBe(true);
    expect(await startedAt(app)).not.toBe(before);
    expect(readdirSync(join(dir, 'data', 'plugin-state', 'docker'))).toEqual([]);
    const uploadsSnap = snaps().find((s) => s.tags.includes(`volume:${uploads}`));
    expect(uploadsSnap?.tags).toEqual(expect.arrayContaining(['plugin:docker', 'source:app-volumes']));
    expect(uploadsSnap?.paths).toEqual([await mountpoint(uploads)]);

    const [byLabel] = await core.runNow({ kind: 'backup', source: 'labelled' });
    expect(byLabel, JSON.stringify(byLabel)).toMatchObject({ outcome: 'success' });
    expect(
      snaps()
        .filter((s) => s.tags.includes('source:labelled'))
        .map((s) => s.tags.find((t) => t.startsWith('volume:'))),
    ).toEqual([`volume:${pgdata}`]);

    const [missing] = await core.runNow({ kind: 'backup', source: 'missing' });
    expect(missing).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/volume nope does not exist/) });

    // Change the data, then restore the backed-up state into a new volume.
    const original = fingerprint(await mountpoint(uploads));
    expect(original.length).toBeGreaterThan(3);
    await dk.docker('run', '--rm', '--network', 'none', '-v', `${uploads}:/data`, dk.image, 'sh', '-c', 'rm /data/blob && echo changed > /data/a/b/c');
    const [ambiguous] = await core.runNow({ kind: 'restore', source: 'app-volumes', snapshotId: null, item: null, target: { kind: 'volume', name: 'x' } });
    expect(ambiguous?.message).toMatch(/choose one with --db NAME \(or --volume NAME\)/);
    const restoredName = v('restored');
    const [restored] = await core.runNow({
      kind: 'restore',
      source: 'app-volumes',
      snapshotId: null,
      item: uploads,
      target: { kind: 'volume', name: restoredName },
    });
    expect(restored, JSON.stringify(restored)).toMatchObject({ kind: 'restore', outcome: 'success' });
    expect(fingerprint(await mountpoint(restoredName))).toEqual(original);
    const [again] = await core.runNow({
      kind: 'restore',
      source: 'app-volumes',
      snapshotId: null,
      item: uploads,
      target: { kind: 'volume', name: restoredName },
    });
    expect(again).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/exists: a restore never writes into an existing volume/) });
  }, 180_000);
});

describe.skipIf(!haveDocker()).each(resticBins().map((b) => [b.label, b.path] as const))('docker source through a helper container with %s', (label, bin) => {
  const v = (name: string) => `${name}-helper-${label.replace(/\D/g, '').slice(0, 3)}`;

  it('streams the volume as tar from a never-started helper, restores it file for file, and leaves no helper behind', async () => {
    const [data, app] = [v('data'), v('app')];
    await dk.docker('volume', 'create', data);
    await dk.docker(
      ...['run', '--rm', '--network', 'none', '-v', `${data}:/data`, dk.image, 'sh', '-c'],
      'mkdir -p /data/x/y && echo one > /data/x/y/z && chown 4321:8765 /data/x/y/z && chmod 600 /data/x/y/z && chown 7:8 /data/x && dd if=/dev/urandom of=/data/blob bs=1024 count=2048 2>/dev/null',
    );
    await dk.docker('run', '-d', '--name', app, '--network', 'none', '-v', `${data}:/data`, dk.image, 'sleep', '1000');
    const dir = tempDir('rma-dk-helper-');
    const repo = await initRepo(bin, dir, 'main');
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      `plugins: { docker: [ { name: via-helper, socket: ${dk.socket}, volumes: [${data}], copy_via: helper, stop_containers: true, stop_timeout: 1 } ] }`,
    ]);
    core = await startCore(dir);
    const [rec] = await core.runNow({ kind: 'backup', source: 'via-helper' });
    expect(rec, JSON.stringify(rec)).toMatchObject({ outcome: 'success' });
    expect(await running(app)).toBe(true);
    const snaps = JSON.parse(
      execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' }),
    ) as Array<{
      paths: string[];
      tags: string[];
    }>;
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatchObject({ paths: [`/docker/${data}.tar`], tags: expect.arrayContaining(['plugin:docker', 'source:via-helper', `volume:${data}`]) });
    expect(await dk.docker('ps', '-aq', '--filter', 'label=restic-agent.helper')).toBe('');
    expect(readdirSync(join(dir, 'data', 'plugin-state', 'docker'))).toEqual([]);

    const original = fingerprint(await mountpoint(data));
    await dk.docker('run', '--rm', '--network', 'none', '-v', `${data}:/data`, dk.image, 'sh', '-c', 'rm -r /data/x');
    const restoredName = v('restored');
    const [restored] = await core.runNow({
      kind: 'restore',
      source: 'via-helper',
      snapshotId: null,
      item: null,
      target: { kind: 'volume', name: restoredName },
    });
    expect(restored, JSON.stringify(restored)).toMatchObject({ kind: 'restore', outcome: 'success' });
    expect(fingerprint(await mountpoint(restoredName))).toEqual(original);
    expect(await dk.docker('ps', '-aq', '--filter', 'label=restic-agent.helper')).toBe('');
  }, 180_000);
});

describe.skipIf(!haveDocker() || !has('setpriv'))('docker source when the agent cannot read the mountpoint', () => {
  const bin = resticBins().at(-1)?.path ?? 'restic';

  it('copy_via: auto copies through a helper, and copy_via: mountpoint says what to write instead', async () => {
    const vol = 'unreadable-auto';
    await dk.docker('volume', 'create', vol);
    await dk.docker('run', '--rm', '--network', 'none', '-v', `${vol}:/data`, dk.image, 'sh', '-c', 'echo kept > /data/file && chmod 604 /data/file');
    const dir = tempDir('rma-dk-nodac-');
    const repo = await initRepo(bin, dir, 'main');
    const config = writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      '  docker:',
      `    - { name: auto, socket: ${dk.socket}, volumes: [${vol}] }`,
      `    - { name: forced, socket: ${dk.socket}, volumes: [${vol}], copy_via: mountpoint }`,
    ]);
    // The volume's directory closed to everyone, and the agent run as root without the capabilities that bypass
    // file modes: it can reach the socket but not the mountpoint, like an agent that is not root.
    const volumeDir = dirname(await mountpoint(vol));
    const mode = statSync(volumeDir).mode & 0o7777;
    chmodSync(volumeDir, 0o000);
    try {
      const agent = (...args: string[]) =>
        spawnSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-all', process.execPath, CLI, '--config', config, ...args], {
          env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') },
          encoding: 'utf8',
        });
      const auto = agent('backup', '--source', 'auto');
      expect(auto.status, auto.stdout + auto.stderr).toBe(0);
      const forced = agent('backup', '--source', 'forced');
      expect(forced.status).not.toBe(0);
      expect(forced.stdout + forced.stderr).toMatch(
        new RegExp(`volume ${vol} has its mountpoint \\S+ where the agent cannot read it: write copy_via: auto \\(or helper\\)`),
      );
    } finally {
      chmodSync(volumeDir, mode);
    }
    const snaps = JSON.parse(
      execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' }),
    ) as Array<{
      paths: string[];
    }>;
    expect(snaps.map((s) => s.paths)).toEqual([[`/docker/${vol}.tar`]]);
  }, 120_000);
});

describe.skipIf(!haveDocker())('docker source after a crash', () => {
  const bin = resticBins().at(-1)?.path ?? 'restic';

  it('a container stopped by a backup that was killed with -9 runs again at the next start', async () => {
    const [big, app] = ['big-crash', 'app-crash'];
    await dk.docker('volume', 'create', big);
    const mp = await mountpoint(big);
    for (let i = 0; i < 200; i++) writeFileSync(join(mp, `blob-${i}.bin`), randomBytes(1 << 20));
    await dk.docker('run', '-d', '--name', app, '--network', 'none', '-v', `${big}:/data`, dk.image, 'sleep', '1000');

    const dir = tempDir('rma-dk-crash-');
    const repo = await initRepo(bin, dir, 'main');
    const config = writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      `plugins: { docker: [ { name: big, socket: ${dk.socket}, volumes: [${big}], stop_containers: true, stop_timeout: 1 } ] }`,
    ]);
    const env = { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') };
    const agent = spawn(process.execPath, [CLI, '--config', config, 'backup', '--source', 'big'], { env, detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    await waitFor('the backup to stop the container', async () => !(await running(app)), 60_000, 20);
    process.kill(-(agent.pid ?? 0), 'SIGKILL'); // the agent and its restic: a crash mid-backup
    await exited;
    expect(await running(app)).toBe(false);
    expect(readdirSync(join(dir, 'data', 'plugin-state', 'docker'))).toHaveLength(1);

    // The next start (any command that opens the agent) starts it again and says so.
    const status = spawnSync(process.execPath, [CLI, '--config', config, 'status'], { env, encoding: 'utf8' });
    expect(status.stderr).toMatch(/docker: started container app-crash again \(a backup that did not finish had stopped it\)/);
    expect(await running(app)).toBe(true);
    expect(readdirSync(join(dir, 'data', 'plugin-state', 'docker'))).toEqual([]);
  }, 180_000);

  it('a helper container left by a backup that was killed with -9 is removed at the next start', async () => {
    const big = 'big-helper-crash';
    await dk.docker('volume', 'create', big);
    const mp = await mountpoint(big);
    for (let i = 0; i < 200; i++) writeFileSync(join(mp, `blob-${i}.bin`), randomBytes(1 << 20));
    const dir = tempDir('rma-dk-hcrash-');
    const repo = await initRepo(bin, dir, 'main');
    const config = writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      `plugins: { docker: [ { name: big, socket: ${dk.socket}, volumes: [${big}], copy_via: helper } ] }`,
    ]);
    const env = { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') };
    const agent = spawn(process.execPath, [CLI, '--config', config, 'backup', '--source', 'big'], { env, detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    const helpers = () => dk.docker('ps', '-aq', '--filter', 'label=restic-agent.helper');
    await waitFor('the backup to create its helper', async () => (await helpers()) !== '', 60_000, 20);
    process.kill(-(agent.pid ?? 0), 'SIGKILL');
    await exited;
    expect(await helpers()).not.toBe('');

    const status = spawnSync(process.execPath, [CLI, '--config', config, 'status'], { env, encoding: 'utf8' });
    expect(status.stderr).toMatch(/docker: removed helper container restic-agent-helper-\w+ that a run did not finish with/);
    expect(await helpers()).toBe('');
    expect(readdirSync(join(dir, 'data', 'plugin-state', 'docker'))).toEqual([]);
  }, 180_000);
});

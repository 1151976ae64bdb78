import { statSync } from 'node:fs';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import { strict, text } from '../../config/schema-parts.js';
import { baseFields, countOf, volumeTag } from '../base-schema.js';
import type { PathStream, SourcePlugin } from '../types.js';
import { journalled, journalStarted, journalStopped } from './journal.js';

const DEFAULT_SOCKET = '/var/run/docker.sock';

const schema = strict({
  ...baseFields,
  /** Volumes by name… */
  volumes: z.array(text).min(1, 'list at least one volume, or select them with label: KEY=VALUE').optional(),
  /** …or every volume with this label (`backup=true`, or just `backup`). */
  label: z
    .string()
    .regex(/^[^=\s,]+(=[^\s,]*)?$/, 'a label selector: KEY or KEY=VALUE')
    .optional(),
  /** Stop the running containers that use a volume while it is copied (and start them again), for a consistent copy. */
  stop_containers: z.boolean().optional(),
  /** Seconds a container has to stop before it is killed (Docker's own default is 10). */
  stop_timeout: z.number().int().min(0).max(3600).optional(),
  /** The Engine API's Unix socket. */
  socket: text.optional(),
}).superRefine((c, ctx) => {
  if ((c.volumes === undefined) === (c.label === undefined))
    ctx.issues.push({ code: 'custom', message: 'give exactly one of volumes: [NAME, …] or label: KEY=VALUE', input: c, path: ['volumes'] });
});

type Docker = z.output<typeof schema>;

/** The Engine API client; loaded only when a docker source runs, so other agents never pay for it. */
async function connect(socketPath: string): Promise<Dockerode> {
  const { default: Client } = await import('dockerode');
  return new Client({ socketPath });
}

const statusOf = (e: unknown): number | undefined => (e as { statusCode?: number }).statusCode;

/** The selected volumes, each a local directory the agent can read. */
async function selectVolumes(docker: Dockerode, c: Docker): Promise<Dockerode.VolumeInspectInfo[]> {
  const where = c.socket ?? DEFAULT_SOCKET;
  const volumes = c.volumes
    ? await Promise.all(
        c.volumes.map((name) =>
          docker
            .getVolume(name)
            .inspect()
            .catch((e: unknown) => {
              throw statusOf(e) === 404 ? new Error(`volume ${name} does not exist on ${where}`) : e;
            }),
        ),
      )
    : ((await docker.listVolumes({ filters: { label: [c.label ?? ''] } })).Volumes ?? []).sort((a, b) => a.Name.localeCompare(b.Name));
  for (const v of volumes) {
    if (v.Driver !== 'local') throw new Error(`volume ${v.Name} uses the ${v.Driver} driver: only local volumes can be backed up (their mountpoint)`);
    if (!isDir(v.Mountpoint))
      throw new Error(`volume ${v.Name}'s mountpoint ${v.Mountpoint} is not readable here: the agent must run on the Docker host, with read access to it`);
  }
  return volumes;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Stops the running containers that use `volume`, each journalled first, and returns what starts them again.
 * If a stop fails, the ones already stopped are started before the error is passed on.
 */
async function stopUsers(docker: Dockerode, socket: string, stateDir: string, volume: string, timeout: number | undefined): Promise<() => Promise<void>> {
  const running = await docker.listContainers({ filters: { volume: [volume], status: ['running'] } });
  const stopped: string[] = [];
  const startAll = async (): Promise<void> => {
    const failed: string[] = [];
    for (const id of stopped) {
      try {
        await startContainer(docker, id);
        await journalStarted(stateDir, id);
      } catch (e) {
        failed.push(`${id.slice(0, 12)}: ${(e as Error).message}`);
      }
    }
    if (failed.length) throw new Error(`could not start again the containers stopped for the copy (retried at the next start): ${failed.join('; ')}`);
  };
  try {
    for (const c of running) {
      await journalStopped(stateDir, { socket, id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? c.Id });
      stopped.push(c.Id);
      await docker.getContainer(c.Id).stop(timeout === undefined ? {} : { t: timeout });
    }
  } catch (e) {
    await startAll().catch(() => {});
    throw e;
  }
  return startAll;
}

async function startContainer(docker: Dockerode, id: string): Promise<void> {
  await docker
    .getContainer(id)
    .start()
    .catch((e: unknown) => {
      if (statusOf(e) !== 304) throw e; // 304: it runs already
    });
}

/**
 * Docker volumes, through the Engine API on its socket: one snapshot per volume, of its mountpoint (restic sees
 * the files, so unchanged ones cost nothing). Optionally stops the containers using a volume for the copy, and
 * always starts them again, after a crash of the agent too (a journal in the plugin's state dir).
 * Restores into a new volume.
 */
export const dockerPlugin: SourcePlugin<Docker> = {
  kind: 'docker',
  schema,
  tools: () => ['tar'],
  async streams(c, ctx) {
    const socket = c.socket ?? DEFAULT_SOCKET;
    const docker = await connect(socket);
    return (await selectVolumes(docker, c)).map((v): PathStream => ({
      paths: [v.Mountpoint],
      label: `docker/${v.Name}`,
      tags: [volumeTag(v.Name)],
      ...(c.stop_containers ? { prepare: () => stopUsers(docker, socket, ctx.stateDir, v.Name, c.stop_timeout) } : {}),
    }));
  },
  async health(c) {
    const docker = await connect(c.socket ?? DEFAULT_SOCKET);
    const version = await docker.version();
    const volumes = await selectVolumes(docker, c);
    return `Docker ${version.Version} (API ${version.ApiVersion}), ${countOf(volumes.length, 'volume')} to back up`;
  },
  async recover({ stateDir }) {
    const done: string[] = [];
    for (const c of await journalled(stateDir)) {
      try {
        await startContainer(await connect(c.socket), c.id);
        await journalStarted(stateDir, c.id);
        done.push(`docker: started container ${c.name} again (a backup that did not finish had stopped it)`);
      } catch (e) {
        if (statusOf(e) === 404) await journalStarted(stateDir, c.id);
        done.push(`docker: could not start container ${c.name} that a backup stopped: ${(e as Error).message}`);
      }
    }
    return done;
  },
  async restore(c, _ctx, target, snap) {
    if (target.kind !== 'volume') throw new Error(`a docker source restores into a new volume (--to-volume) or a file (--to), not a ${target.kind}`);
    const docker = await connect(c.socket ?? DEFAULT_SOCKET);
    // createVolume returns an existing volume of that name: check first, a restore never writes into one.
    const exists = await docker
      .getVolume(target.name)
      .inspect()
      .then(
        () => true,
        (e: unknown) => (statusOf(e) === 404 ? false : Promise.reject(e)),
      );
    if (exists) throw new Error(`volume ${target.name} exists: a restore never writes into an existing volume, give a new name`);
    await docker.createVolume({ Name: target.name, Labels: { 'restic-agent.restored': 'true' } });
    const created = await docker.getVolume(target.name).inspect();
    // restic dump writes a directory as a tar of its full path: strip it, so the files land at the volume's root.
    const depth = (snap.paths[0] ?? '').split('/').filter(Boolean).length;
    return [{ command: ['tar', '-x', '-p', '--numeric-owner', `--strip-components=${depth}`, '-C', created.Mountpoint, '-f', '-'] }];
  },
};

import { statSync } from 'node:fs';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import { strict, text } from '../../config/schema-parts.js';
import { baseFields, countOf, dbToken, volumeTag } from '../base-schema.js';
import type { PathStream, ReaderStream, SourcePlugin } from '../types.js';
import { connect, DEFAULT_SOCKET, statusOf } from './engine.js';
import { helperFilename, readVolume, removeHelper, writeVolume } from './helper.js';
import { journal, journalled, unjournal } from './journal.js';

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
  /**
   * How a volume's data is read: `mountpoint` (restic reads the files, unchanged ones cost nothing), `helper` (a tar
   * through a helper container, for any driver), or `auto` (the default): the mountpoint when it is local and readable.
   */
  copy_via: z.enum(['auto', 'mountpoint', 'helper']).optional(),
}).superRefine((c, ctx) => {
  if ((c.volumes === undefined) === (c.label === undefined))
    ctx.issues.push({ code: 'custom', message: 'give exactly one of volumes: [NAME, …] or label: KEY=VALUE', input: c, path: ['volumes'] });
});

type Docker = z.output<typeof schema>;

/** A selected volume and how it is read. */
interface Selected {
  readonly volume: Dockerode.VolumeInspectInfo;
  readonly via: 'mountpoint' | 'helper';
}

/** The selected volumes, each with how it is read (`copy_via`). */
async function selectVolumes(docker: Dockerode, c: Docker): Promise<Selected[]> {
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
  const via = c.copy_via ?? 'auto';
  return volumes.map((v) => {
    if (via === 'helper') return { volume: v, via };
    const why =
      v.Driver !== 'local' ? `uses the ${v.Driver} driver` : !isDir(v.Mountpoint) ? `has its mountpoint ${v.Mountpoint} where the agent cannot read it` : null;
    if (why === null) return { volume: v, via: 'mountpoint' };
    if (via === 'mountpoint') throw new Error(`volume ${v.Name} ${why}: write copy_via: auto (or helper) to copy it through a helper container`);
    return { volume: v, via: 'helper' };
  });
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
        await unjournal(stateDir, 'stopped', id);
      } catch (e) {
        failed.push(`${id.slice(0, 12)}: ${(e as Error).message}`);
      }
    }
    if (failed.length) throw new Error(`could not start again the containers stopped for the copy (retried at the next start): ${failed.join('; ')}`);
  };
  try {
    for (const c of running) {
      await journal(stateDir, 'stopped', { socket, id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? c.Id });
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
 * the files, so unchanged ones cost nothing) or, when the agent cannot read it, of a tar streamed from a helper
 * container. Optionally stops the containers using a volume for the copy, and always starts them again, after a
 * crash of the agent too (a journal in the plugin's state dir). Restores into a new volume, through a helper.
 */
export const dockerPlugin: SourcePlugin<Docker> = {
  kind: 'docker',
  schema,
  tools: () => [],
  async streams(c, ctx) {
    const socket = c.socket ?? DEFAULT_SOCKET;
    const docker = await connect(socket);
    return (await selectVolumes(docker, c)).map(({ volume: v, via }): PathStream | ReaderStream => {
      const common = {
        tags: [volumeTag(v.Name)],
        ...(c.stop_containers ? { prepare: () => stopUsers(docker, socket, ctx.stateDir, v.Name, c.stop_timeout) } : {}),
      };
      return via === 'mountpoint'
        ? { ...common, paths: [v.Mountpoint], label: `docker/${v.Name}` }
        : { ...common, filename: helperFilename(dbToken(v.Name)), open: (signal) => readVolume({ docker, socket, stateDir: ctx.stateDir }, v.Name, signal) };
    });
  },
  async health(c) {
    const docker = await connect(c.socket ?? DEFAULT_SOCKET);
    const version = await docker.version();
    const volumes = await selectVolumes(docker, c);
    const helped = volumes.filter((v) => v.via === 'helper').length;
    const how = helped === 0 ? '' : helped === volumes.length ? ' through a helper container' : ` (${helped} through a helper container)`;
    return `Docker ${version.Version} (API ${version.ApiVersion}), ${countOf(volumes.length, 'volume')} to back up${how}`;
  },
  async recover({ stateDir }) {
    const done: string[] = [];
    for (const c of await journalled(stateDir, 'stopped')) {
      try {
        await startContainer(await connect(c.socket), c.id);
        await unjournal(stateDir, 'stopped', c.id);
        done.push(`docker: started container ${c.name} again (a backup that did not finish had stopped it)`);
      } catch (e) {
        if (statusOf(e) === 404) await unjournal(stateDir, 'stopped', c.id);
        done.push(`docker: could not start container ${c.name} that a backup stopped: ${(e as Error).message}`);
      }
    }
    for (const c of await journalled(stateDir, 'helper')) {
      try {
        await removeHelper(await connect(c.socket), c.name);
        await unjournal(stateDir, 'helper', c.id);
        done.push(`docker: removed helper container ${c.name} that a run did not finish with`);
      } catch (e) {
        done.push(`docker: could not remove helper container ${c.name}: ${(e as Error).message}`);
      }
    }
    return done;
  },
  async restore(c, ctx, target, snap) {
    if (target.kind !== 'volume') throw new Error(`a docker source restores into a new volume (--to-volume) or a file (--to), not a ${target.kind}`);
    const socket = c.socket ?? DEFAULT_SOCKET;
    const docker = await connect(socket);
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
    const path = snap.paths[0] ?? '';
    return { write: (dump, signal) => writeVolume({ docker, socket, stateDir: ctx.stateDir }, target.name, path, dump, signal) };
  },
};

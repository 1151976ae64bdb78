import { randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { statusOf } from './engine.js';
import { journal, unjournal } from './journal.js';

/**
 * Volumes the agent cannot read on disk (another driver, or a mountpoint it may not open) are copied through a
 * helper container: created with the volume mounted, never started, and read or written through the Engine API's
 * archive endpoints, so the data streams as tar over the socket. Its image is empty (imported from an empty tar), so
 * no registry is needed and nothing in it runs.
 */
const HELPER_IMAGE = { repo: 'restic-agent-helper', tag: 'empty' } as const;
const HELPER_REF = `${HELPER_IMAGE.repo}:${HELPER_IMAGE.tag}`;

/** Where the helper mounts the volume it copies. */
const MOUNT = '/volume';

/** Where a volume copied through a helper is stored in its snapshot: `/docker/<volume>.tar`. */
export function helperFilename(volumeToken: string): string {
  return `docker/${volumeToken}.tar`;
}

/** True when a snapshot holds a helper's tar (not a mountpoint's files). */
export function isHelperSnapshot(path: string): boolean {
  return /^\/?docker\/[^/]+\.tar$/.test(path);
}

interface Where {
  readonly docker: Dockerode;
  readonly socket: string;
  /** The plugin's state dir: the helper is journalled there until it is removed (a crash leaves it listed). */
  readonly stateDir: string;
}

/** The volume's files as a tar stream; it errors when the Engine API's tar is cut short. */
export async function readVolume(w: Where, volume: string, signal: AbortSignal): Promise<Readable> {
  const helper = await createHelper(w, volume, MOUNT, true);
  let tar: Readable;
  try {
    // `/.`: the entries are the volume's own (`./a/b`), not under a `volume/` directory.
    tar = (await helper.container.getArchive({ path: `${MOUNT}/.`, abortSignal: signal })) as Readable;
  } catch (e) {
    await helper.remove();
    throw e;
  }
  const checked = endOfArchiveCheck(volume);
  void pipeline(tar, checked)
    .catch(() => {}) // the error reaches `checked`'s reader
    .finally(() => void helper.remove().catch(() => {}));
  return checked;
}

/**
 * Extracts `dump` (a tar) into `volume`: a helper's tar at the volume's root; a mountpoint snapshot's tar (whose
 * entries carry the mountpoint's path) with the volume mounted at that path, so either lands at the volume's root.
 */
export async function writeVolume(w: Where, volume: string, snapshotPath: string, dump: Readable, signal: AbortSignal): Promise<void> {
  const helperTar = isHelperSnapshot(snapshotPath);
  const helper = await createHelper(w, volume, helperTar ? MOUNT : snapshotPath, false);
  try {
    await helper.container.putArchive(dump, { path: helperTar ? MOUNT : '/', abortSignal: signal });
  } finally {
    await helper.remove().catch(() => {});
  }
}

/** Removes a helper a crashed run left (journalled by name). */
export async function removeHelper(docker: Dockerode, name: string): Promise<void> {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch((e: unknown) => {
      if (statusOf(e) !== 404) throw e;
    });
}

async function createHelper(
  w: Where,
  volume: string,
  target: string,
  readOnly: boolean,
): Promise<{ container: Dockerode.Container; remove: () => Promise<void> }> {
  await ensureImage(w.docker);
  const name = `restic-agent-helper-${randomBytes(6).toString('hex')}`;
  await journal(w.stateDir, 'helper', { socket: w.socket, id: name, name });
  const remove = async (): Promise<void> => {
    await removeHelper(w.docker, name);
    await unjournal(w.stateDir, 'helper', name);
  };
  try {
    const container = await w.docker.createContainer({
      name,
      Image: HELPER_REF,
      Cmd: ['/never-started'], // required by the API; the helper is only ever created
      Labels: { 'restic-agent.helper': volume },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: target, ReadOnly: readOnly }] },
    });
    return { container, remove };
  } catch (e) {
    await remove().catch(() => {});
    throw e;
  }
}

/** Imports the empty helper image once per engine (an empty tar: two zero blocks). */
async function ensureImage(docker: Dockerode): Promise<void> {
  const present = await docker
    .getImage(HELPER_REF)
    .inspect()
    .then(
      () => true,
      (e: unknown) => (statusOf(e) === 404 ? false : Promise.reject(e)),
    );
  if (present) return;
  const progress = await docker.importImage(Readable.from([Buffer.alloc(1024)]), { ...HELPER_IMAGE });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(progress, (e: Error | null) => (e ? reject(e) : resolve()));
  });
}

/** Size of a tar's end-of-archive marker: two zero blocks. */
const EOA = 1024;

/**
 * Passes a tar through and fails at its end unless it ended with the end-of-archive marker: a stream the daemon cut
 * short (it died, the volume went away) must never become a snapshot that looks whole. The HTTP stream's own error
 * is the first guard; this one catches a response that ended cleanly but early.
 */
export function endOfArchiveCheck(volume: string): Transform {
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      tail = chunk.length >= EOA ? Buffer.from(chunk.subarray(chunk.length - EOA)) : Buffer.concat([tail, chunk]).subarray(-EOA);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const whole = tail.length === EOA && tail.every((b) => b === 0);
      done(whole ? null : new Error(`the Engine API's tar of volume ${volume} ended before its end-of-archive marker`));
    },
  });
}

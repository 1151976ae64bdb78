import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { readCaFile } from '../config/read-ca.js';
import { Feed } from './feed.js';
import { parseReleaseKey } from './keys.js';
import { UpdateRefused, verifyManifest, type Manifest } from './manifest.js';
import type { UpdateConfig } from './updater.js';

/** The feed `update:` names. */
export async function openFeed(c: UpdateConfig): Promise<Feed> {
  if (!c.feed) throw new UpdateRefused('no update feed is configured: set update.feed (docs/auto-update.md)');
  return new Feed({ feed: c.feed, ca: await readCaFile(c.caFile, 'update.ca_file') });
}

/** The channel's manifest, its signature verified by a trusted key (`update.public_keys`, else the built-in ones). */
export async function fetchSignedManifest(c: UpdateConfig, builtInKeys: readonly string[]): Promise<{ manifest: Manifest; url: URL }> {
  const keys = (c.publicKeys.length ? c.publicKeys : builtInKeys).map(parseReleaseKey);
  const feed = await openFeed(c);
  try {
    const { bytes, sig, url } = await feed.manifest(c.channel);
    return { manifest: verifyManifest(bytes, sig, keys, c.channel), url };
  } finally {
    await feed.close();
  }
}

/**
 * The tray app's check of a file electron-updater downloaded: the signed manifest must list it, with this size and
 * SHA-256, as `version`'s artifact for `platform` (e.g. `desktop-win-x64`). Throws UpdateRefused otherwise.
 */
export async function verifyDownloadedFile(c: UpdateConfig, builtInKeys: readonly string[], file: string, version: string, platform: string): Promise<void> {
  const { manifest } = await fetchSignedManifest(c, builtInKeys);
  const artifact = manifest.releases.find((r) => r.version === version)?.platforms[platform];
  if (!artifact) throw new UpdateRefused(`the signed ${c.channel} manifest lists no ${platform} artifact for ${version}`);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    size += chunk.length;
    hash.update(chunk);
  }
  const sha256 = hash.digest('hex');
  if (size !== artifact.size || sha256 !== artifact.sha256) {
    throw new UpdateRefused(
      `the downloaded ${basename(file)} (${size} bytes, SHA-256 ${sha256}) is not the signed ${version} ${platform} artifact (${artifact.size} bytes, SHA-256 ${artifact.sha256})`,
    );
  }
}

import { verify } from 'node:crypto';
import semver from 'semver';
import { z } from 'zod';
import type { ReleaseKey } from './keys.js';
import { currentPlatform } from '../agent/version.js';

/** An update that must not be applied: the message says why, for the log, `status` and the heartbeat. */
export class UpdateRefused extends Error {
  override readonly name = 'UpdateRefused';
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const version = z.string().refine((v) => semver.valid(v) !== null, 'expected a semantic version such as 1.4.2');

const artifact = z.object({
  /** Absolute, or relative to the manifest's own URL (or directory). */
  url: z.string().min(1),
  size: z.number().int().positive(),
  sha256,
});

/** `<channel>.json` of a feed: every release still offered on the channel, per platform (docs/auto-update.md). */
export const manifestSchema = z.object({
  schema: z.literal(1),
  channel: z.enum(['stable', 'beta']),
  releases: z
    .array(z.object({ version, released_at: z.string().optional(), platforms: z.record(z.string(), artifact) }))
    .min(1, 'a manifest lists at least one release'),
});
export type Manifest = z.output<typeof manifestSchema>;
export type Artifact = z.output<typeof artifact>;

/** `<channel>.json.sig`: which key signed, and the Ed25519 signature of the manifest's exact bytes. */
const signatureSchema = z.object({ key_id: z.string().regex(/^[0-9a-f]{16}$/), signature: z.string().min(1) });

/**
 * Checks the detached signature over the manifest's exact bytes, then parses it. Refuses an unknown key, a bad
 * signature and a manifest for another channel, each in words that say which.
 */
export function verifyManifest(bytes: Buffer, sigText: string, keys: readonly ReleaseKey[], channel: string): Manifest {
  if (keys.length === 0) throw new UpdateRefused('no release public key is configured: set update.public_keys (docs/auto-update.md)');
  let sig: z.output<typeof signatureSchema>;
  try {
    sig = signatureSchema.parse(JSON.parse(sigText));
  } catch {
    throw new UpdateRefused('the manifest signature file is not {"key_id": "<16 hex>", "signature": "<base64>"}');
  }
  const key = keys.find((k) => k.id === sig.key_id);
  if (!key) {
    throw new UpdateRefused(`the manifest is signed with key ${sig.key_id}, which this agent does not trust (trusted: ${keys.map((k) => k.id).join(', ')})`);
  }
  if (!verify(null, bytes, key.key, Buffer.from(sig.signature, 'base64'))) {
    throw new UpdateRefused(`bad signature: the manifest does not match its signature by key ${key.id} (changed after signing, or corrupt)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UpdateRefused('the signed manifest is not JSON');
  }
  const r = manifestSchema.safeParse(parsed);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UpdateRefused(`the signed manifest is invalid at ${i?.path.join('.') || '(top)'}: ${i?.message ?? 'unknown problem'}`);
  }
  if (r.data.channel !== channel) throw new UpdateRefused(`the manifest is for channel ${r.data.channel}, not ${channel}`);
  return r.data;
}

/** A release picked for this platform. */
export interface Candidate {
  readonly version: string;
  readonly artifact: Artifact;
}

/**
 * The release to move to: `to` when given, else the newest. Null when already on it (or nothing newer); refuses a
 * downgrade without `allowDowngrade`, a version that failed its health check here before (unless asked for by
 * name), and a release without a binary for this platform.
 */
export function chooseRelease(
  m: Manifest,
  opts: { current: string; to?: string | null; allowDowngrade?: boolean; failed?: readonly string[]; platform?: string },
): Candidate | null {
  const platform = opts.platform ?? currentPlatform();
  const sorted = [...m.releases].sort((a, b) => semver.rcompare(a.version, b.version));
  const wanted = opts.to ? sorted.find((r) => semver.eq(r.version, opts.to ?? '')) : sorted[0];
  if (!wanted) throw new UpdateRefused(`version ${opts.to} is not offered on the ${m.channel} channel (offered: ${sorted.map((r) => r.version).join(', ')})`);
  const cmp = semver.compare(wanted.version, opts.current);
  if (cmp === 0) return null;
  if (cmp < 0) {
    if (!opts.to) return null;
    if (!opts.allowDowngrade) throw new UpdateRefused(`${wanted.version} is older than the running ${opts.current}: a downgrade needs --allow-downgrade`);
  }
  if (!opts.to && opts.failed?.includes(wanted.version)) {
    throw new UpdateRefused(`${wanted.version} failed its health check here before and is not retried (update --to ${wanted.version} tries it again)`);
  }
  const artifact = wanted.platforms[platform];
  if (!artifact) throw new UpdateRefused(`${wanted.version} has no binary for ${platform}`);
  return { version: wanted.version, artifact };
}

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

declare const __RELEASE_KEYS__: string | undefined;

/**
 * The release public keys this build trusts, as `ed25519:<base64 of the 32-byte key>`, comma-separated. Set by
 * `npm run dist` from RMA_RELEASE_PUBLIC_KEYS (docs/distribution.md); a development build has none, and config
 * `update.public_keys` replaces them.
 */
export const BUILT_IN_RELEASE_KEYS: readonly string[] =
  typeof __RELEASE_KEYS__ === 'string' && __RELEASE_KEYS__ ? __RELEASE_KEYS__.split(',').map((k) => k.trim()) : [];

/** A trusted key: its id (what a signature names) and the verifier. */
export interface ReleaseKey {
  readonly id: string;
  readonly key: KeyObject;
}

const RAW = /^ed25519:([A-Za-z0-9+/]{43}=)$/;

/** Parses `ed25519:<base64>`; the error names the expected form. */
export function parseReleaseKey(text: string): ReleaseKey {
  const m = RAW.exec(text.trim());
  if (!m?.[1]) throw new Error(`"${text}" is not a release key: expected ed25519:<base64 of 32 bytes> (see docs/auto-update.md)`);
  const raw = Buffer.from(m[1], 'base64');
  return { id: keyId(raw), key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }) };
}

/** The short id a signature file names its key by: the first 16 hex digits of SHA-256 of the raw key. */
export function keyId(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** The raw 32 bytes of an Ed25519 public key object. */
export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
}

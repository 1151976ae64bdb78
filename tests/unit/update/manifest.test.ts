import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { feedBase } from '../../../src/main/core/update/feed.js';
import { keyId, parseReleaseKey, rawPublicKey } from '../../../src/main/core/update/keys.js';
import { chooseRelease, verifyManifest, type Manifest } from '../../../src/main/core/update/manifest.js';
import { inWindow } from '../../../src/main/core/update/updater.js';

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return { privateKey, text: `ed25519:${raw.toString('base64')}`, id: keyId(raw) };
};
const release = pair();
const other = pair();
const artifact = { url: 'restic-agent-linux-x64', size: 10, sha256: 'a'.repeat(64) };
const manifest: Manifest = {
  schema: 1,
  channel: 'stable',
  releases: [
    { version: '0.2.0', platforms: { 'linux-x64': artifact } },
    { version: '0.1.5', platforms: { 'linux-x64': artifact } },
  ],
};
const signed = (m: unknown, k = release) => {
  const bytes = Buffer.from(JSON.stringify(m));
  return { bytes, sig: JSON.stringify({ key_id: k.id, signature: sign(null, bytes, k.privateKey).toString('base64') }) };
};

describe('verifyManifest', () => {
  const keys = [parseReleaseKey(release.text)];
  it('accepts a manifest signed by a trusted key', () => {
    const { bytes, sig } = signed(manifest);
    expect(verifyManifest(bytes, sig, keys, 'stable').releases).toHaveLength(2);
  });
  it('refuses an unknown key, a changed byte, another channel, no keys, and an invalid manifest', () => {
    const s = signed(manifest, other);
    expect(() => verifyManifest(s.bytes, s.sig, keys, 'stable')).toThrow(new RegExp(`signed with key ${other.id}, which this agent does not trust`));
    const t = signed(manifest);
    const changed = Buffer.from(t.bytes.toString().replace('0.2.0', '0.2.1'));
    expect(() => verifyManifest(changed, t.sig, keys, 'stable')).toThrow(/bad signature/);
    expect(() => verifyManifest(t.bytes, t.sig, keys, 'beta')).toThrow(/for channel stable, not beta/);
    expect(() => verifyManifest(t.bytes, t.sig, [], 'stable')).toThrow(/no release public key is configured/);
    const bad = signed({ ...manifest, releases: [{ version: 'one', platforms: {} }] });
    expect(() => verifyManifest(bad.bytes, bad.sig, keys, 'stable')).toThrow(/invalid at releases\.0\.version: expected a semantic version/);
    expect(() => verifyManifest(t.bytes, 'garbage', keys, 'stable')).toThrow(/signature file is not/);
  });
  it('names the expected key form', () => {
    expect(() => parseReleaseKey('ssh-ed25519 AAAA')).toThrow(/expected ed25519:<base64 of 32 bytes>/);
  });
});

describe('chooseRelease', () => {
  const opts = { current: '0.1.0', platform: 'linux-x64' };
  it('picks the newest, or the one asked for; null when up to date', () => {
    expect(chooseRelease(manifest, opts)?.version).toBe('0.2.0');
    expect(chooseRelease(manifest, { ...opts, to: '0.1.5' })?.version).toBe('0.1.5');
    expect(chooseRelease(manifest, { ...opts, current: '0.2.0' })).toBeNull();
    expect(chooseRelease(manifest, { ...opts, current: '0.3.0' })).toBeNull();
  });
  it('refuses a downgrade without --allow-downgrade, a failed version, an unknown one, a missing platform', () => {
    expect(() => chooseRelease(manifest, { ...opts, current: '0.2.0', to: '0.1.5' })).toThrow(
      /older than the running 0\.2\.0: a downgrade needs --allow-downgrade/,
    );
    expect(chooseRelease(manifest, { ...opts, current: '0.2.0', to: '0.1.5', allowDowngrade: true })?.version).toBe('0.1.5');
    expect(() => chooseRelease(manifest, { ...opts, failed: ['0.2.0'] })).toThrow(/failed its health check here before/);
    expect(chooseRelease(manifest, { ...opts, failed: ['0.2.0'], to: '0.2.0' })?.version).toBe('0.2.0');
    expect(() => chooseRelease(manifest, { ...opts, to: '9.9.9' })).toThrow(/not offered on the stable channel \(offered: 0\.2\.0, 0\.1\.5\)/);
    expect(() => chooseRelease(manifest, { ...opts, platform: 'win-x64' })).toThrow(/no binary for win-x64/);
  });
});

describe('inWindow and feedBase', () => {
  const at = (h: number, m = 0) => new Date(2026, 11, 7, h, m);
  it('handles a window across midnight', () => {
    const night = { from: 22 * 60, to: 4 * 60 };
    expect([at(23), at(3, 59), at(4), at(12)].map((d) => inWindow(night, d))).toEqual([true, true, false, false]);
    expect(inWindow({ from: 120, to: 300 }, at(2, 30))).toBe(true);
    expect(inWindow(null, at(12))).toBe(true);
  });
  it('takes https, http only to loopback, and directories', () => {
    expect(feedBase('https://updates.example.com/agent').href).toBe('https://updates.example.com/agent/');
    expect(() => feedBase('http://updates.example.com/')).toThrow(/must be https:\/\//);
    expect(feedBase('http://127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/');
    expect(feedBase('/srv/feed').href).toBe('file:///srv/feed/');
    expect(() => feedBase('ftp://x/')).toThrow(/https:\/\/ URL or a directory/);
  });
});

// The update feed's signing (docs/auto-update.md): one manifest per channel, signed with an Ed25519 key.
// `node scripts/feed-sign.js keygen` prints a new key pair: the private key (PEM) for RMA_SIGNING_KEY, the public
// one (ed25519:<base64>) for RMA_RELEASE_PUBLIC_KEYS and update.public_keys.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/** `ed25519:<base64 raw key>` and its 16-hex id, as the agent names them (src/main/core/update/keys.ts). */
export function publicKeyText(key) {
  const raw = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x, 'base64url');
  return { text: `ed25519:${raw.toString('base64')}`, id: createHash('sha256').update(raw).digest('hex').slice(0, 16) };
}

/** Signs exact manifest bytes: the `.sig` file's JSON. */
export function signBytes(privatePem, bytes) {
  const key = createPrivateKey(privatePem);
  return `${JSON.stringify({ key_id: publicKeyText(key).id, signature: sign(null, bytes, key).toString('base64') })}\n`;
}

/** The manifest for one release (binaries next to it, by file name) and its signature. */
export function signedManifest(privatePem, channel, version, binaries) {
  const platforms = Object.fromEntries(
    binaries.map(({ target, file }) => [
      target,
      { url: basename(file), size: statSync(file).size, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') },
    ]),
  );
  const json = `${JSON.stringify({ schema: 1, channel, releases: [{ version, released_at: new Date().toISOString(), platforms }] }, null, 2)}\n`;
  return { json, sig: signBytes(privatePem, Buffer.from(json)), keyId: publicKeyText(createPrivateKey(privatePem)).id };
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1])) && process.argv[2] === 'keygen') {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  const pub = publicKeyText(privateKey);
  process.stdout.write(`${pem}\npublic key (id ${pub.id}): ${pub.text}\n`);
}

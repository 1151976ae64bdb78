// The update feed's signing (docs/auto-update.md): one manifest per channel, signed with an Ed25519 key.
// `node scripts/feed-sign.js keygen` prints a new key pair: the private key (PEM) for RMA_SIGNING_KEY, the public
// one (ed25519:<base64>) for RMA_RELEASE_PUBLIC_KEYS and update.public_keys.
// `RMA_SIGNING_KEY=… node scripts/feed-sign.js sign DIR CHANNEL VERSION PLATFORM=FILE…` writes DIR/CHANNEL.json and
// its .sig for files already in DIR: e.g. the tray app's installers as `desktop-win-x64=…Setup-0.3.0.exe` next to the
// single-file binaries (`linux-x64=restic-agent-linux-x64`).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

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

const [, script, command, ...args] = process.argv;
if (script && import.meta.url.endsWith(basename(script)) && command === 'keygen') {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  const pub = publicKeyText(privateKey);
  process.stdout.write(`${pem}\npublic key (id ${pub.id}): ${pub.text}\n`);
} else if (script && import.meta.url.endsWith(basename(script)) && command === 'sign') {
  const [dir, channel, version, ...pairs] = args;
  if (!dir || !channel || !version || !pairs.length || !process.env.RMA_SIGNING_KEY || pairs.some((p) => !p.includes('='))) {
    process.stderr.write('usage: RMA_SIGNING_KEY=<pem> node scripts/feed-sign.js sign DIR CHANNEL VERSION PLATFORM=FILE…\n');
    process.exit(2);
  }
  const files = pairs.map((p) => ({ target: p.slice(0, p.indexOf('=')), file: join(dir, p.slice(p.indexOf('=') + 1)) }));
  const m = signedManifest(process.env.RMA_SIGNING_KEY, channel, version, files);
  writeFileSync(join(dir, `${channel}.json`), m.json);
  writeFileSync(join(dir, `${channel}.json.sig`), m.sig);
  process.stdout.write(`signed ${join(dir, `${channel}.json`)} with key ${m.keyId}\n`);
}

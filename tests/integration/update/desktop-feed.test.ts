// The tray app's update check against a real HTTPS feed on loopback (private CA): what electron-updater downloaded
// is offered as "Restart to update" only when the feed's ed25519-signed manifest lists it (size and SHA-256) for
// `desktop-<platform>`. The feed's address comes from app-update.yml (electron-builder's `publish`) unless
// `update.feed` names one. electron-updater itself is the fake AppUpdater: no Electron binary runs here.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain JS build script (no types): the same signing `npm run dist` uses
import { publicKeyText, signBytes } from '../../../scripts/feed-sign.js';
import { currentPlatform, type UpdateConfig } from '../../../src/main/core/index.js';
import { DesktopUpdater, signedManifestCheck, type AppUpdaterLike } from '../../../src/main/desktop-updater.js';
import { makePki } from '../../helpers/pki.js';

const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => k.export({ format: 'pem', type: 'pkcs8' }) as string;
const trusted = pem(generateKeyPairSync('ed25519').privateKey);
const stranger = pem(generateKeyPairSync('ed25519').privateKey);
const installer = Buffer.from('an installer of 0.3.0, as electron-builder made it');
const routes = new Map<string, Buffer>();
let work = '';
let server: Server;
let base = '';
let caFile = '';

/** A feed under /<name>/ whose signed manifest lists `installer` as 0.3.0 for this platform's desktop app. */
function publish(name: string, key: string) {
  const artifact = { url: 'setup-0.3.0', size: installer.length, sha256: createHash('sha256').update(installer).digest('hex') };
  const json = Buffer.from(
    JSON.stringify({ schema: 1, channel: 'stable', releases: [{ version: '0.3.0', platforms: { [`desktop-${currentPlatform()}`]: artifact } }] }),
  );
  routes.set(`/${name}/stable.json`, json);
  routes.set(`/${name}/stable.json.sig`, Buffer.from(signBytes(key, json) as string));
}

const config = (feed: string | null, keys: string[]): UpdateConfig => ({
  enabled: null,
  channel: 'stable',
  feed,
  window: null,
  publicKeys: keys,
  caFile,
  checkEveryMs: 6 * 3600_000,
  healthTimeoutMs: 120_000,
});

class FakeAppUpdater extends EventEmitter implements AppUpdaterLike {
  autoDownload = false;
  autoInstallOnAppQuit = true;
  installs = 0;
  checkForUpdates = () => Promise.resolve(null);
  quitAndInstall = () => void this.installs++;
}

/** The tray's updater with the real signed-manifest check; electron-updater "downloads" `bytes`. */
async function trayDownloads(verify: ReturnType<typeof signedManifestCheck>, bytes: Buffer) {
  const file = join(mkdtempSync(join(work, 'cache-')), 'restic-monitor-agent-0.3.0.AppImage');
  writeFileSync(file, bytes);
  const updater = new FakeAppUpdater();
  const logs: string[] = [];
  const d = new DesktopUpdater({
    updater,
    isBusy: () => false,
    onChange: () => {},
    verify,
    log: { info: () => {}, warn: (m) => logs.push(m), error: (m) => logs.push(m) },
  });
  updater.emit('update-downloaded', { version: '0.3.0', downloadedFile: file });
  await d.verified;
  d.restartToUpdate();
  return { ready: d.state().ready, installs: updater.installs, logs: logs.join('\n') };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rma-desktop-feed-'));
  const pki = makePki(mkdtempSync(join(work, 'pki-')));
  caFile = pki.caFile;
  server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    const body = routes.get(req.url ?? '');
    if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  publish('good', trusted);
  publish('stranger', stranger);
});
afterAll(() => {
  server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the tray app’s update, checked against the signed feed', () => {
  const pub = () => publicKeyText(trusted).text as string;

  it('offers the restart for a download the signed manifest lists; the feed comes from app-update.yml', async () => {
    const yml = join(work, 'app-update.yml');
    writeFileSync(yml, `provider: generic\nurl: ${base}/good/\nupdaterCacheDirName: restic-monitor-agent-updater\n`);
    const r = await trayDownloads(signedManifestCheck(config(null, [pub()]), yml, []), installer);
    expect(r).toEqual({ ready: '0.3.0', installs: 1, logs: '' });
  });

  it.each([
    {
      what: 'a changed download',
      feed: 'good',
      trust: true,
      extra: '!',
      message: /the downloaded \S+\.AppImage \(\d+ bytes, SHA-256 [0-9a-f]{64}\) is not the signed 0\.3\.0 desktop-/,
    },
    { what: 'an unknown signing key', feed: 'stranger', trust: true, extra: '', message: /signed with key [0-9a-f]{16}, which this agent does not trust/ },
    { what: 'no trusted key at all', feed: 'good', trust: false, extra: '', message: /no release public key is configured/ },
  ])('refuses $what: no "Restart to update", and says why', async ({ feed, trust, extra, message }) => {
    const verify = signedManifestCheck(config(`${base}/${feed}/`, trust ? [pub()] : []), '/nonexistent/app-update.yml', []);
    const r = await trayDownloads(verify, Buffer.concat([installer, Buffer.from(extra)]));
    expect(r.ready).toBeNull();
    expect(r.installs).toBe(0);
    expect(r.logs).toMatch(/^update 0\.3\.0 refused: /);
    expect(r.logs).toMatch(message);
  });
});

// `npm run dist`: single-file binaries (Node's single executable applications) and a Debian package, offline.
// See docs/distribution.md for why this route, and what each target needs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { signedManifest } from './feed-sign.js';
import { build } from 'esbuild';

const out = resolve(process.argv.find((a) => a.startsWith('--out='))?.slice(6) ?? 'dist');
// --only=linux-x64,win-x64 builds those targets only.
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
// --version= builds another version number (the auto-update tests build an A and a B); --no-deb skips the package.
const version = process.argv.find((a) => a.startsWith('--version='))?.slice(10) ?? JSON.parse(readFileSync('package.json', 'utf8')).version;
const withDeb = !process.argv.includes('--no-deb');
// The release public keys the binaries trust (ed25519:<base64>, comma-separated) and the key that signs the feed.
const releaseKeys = process.env.RMA_RELEASE_PUBLIC_KEYS ?? '';
const signingKey = process.env.RMA_SIGNING_KEY ?? '';
const channel = process.env.RMA_CHANNEL ?? 'stable';
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
})();
const work = join(out, 'sea');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// 1. One CommonJS file: a single executable application runs one script and `require`s only built-ins.
await build({
  entryPoints: ['src/main/sea.ts'],
  outfile: join(work, 'restic-agent.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  minifyWhitespace: true,
  minifySyntax: true,
  // keytar: no keyring in a service (the 0600 file store is used); ssh2's optional native parts stay out.
  external: ['electron', 'keytar', 'cpu-features', '*.node'],
  define: {
    __AGENT_VERSION__: JSON.stringify(version),
    __AGENT_COMMIT__: JSON.stringify(commit),
    __RELEASE_KEYS__: JSON.stringify(releaseKeys),
    'import.meta.url': '__import_meta_url',
  },
  banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(process.execPath).href;" },
  logLevel: 'warning',
});

// 2. The blob: the script plus the Windows service wrapper as an asset. Every target is the same Node 22 build from the
// npm registry's per-platform packages (scripts/fetch-node.sh puts them under vendor/node/<target>/); its built-in
// node:sqlite holds the state database, so no binary carries a native addon. The blob is made by the host's copy.
const targets = [
  { name: 'linux-x64', platform: 'linux', arch: 'x64', exe: '' },
  { name: 'linux-arm64', platform: 'linux', arch: 'arm64', exe: '' },
  { name: 'win-x64', platform: 'win32', arch: 'x64', exe: '.exe' },
  { name: 'darwin-arm64', platform: 'darwin', arch: 'arm64', exe: '' },
  { name: 'darwin-x64', platform: 'darwin', arch: 'x64', exe: '' },
];
const nodeOf = (t) => join('vendor', 'node', t.name, `node${t.exe}`);
const host = targets.find((t) => t.platform === process.platform && t.arch === process.arch);
if (!host || !existsSync(nodeOf(host))) {
  console.error(`needs ${host ? nodeOf(host) : 'a Node build for this machine'} to make the blob: run sh scripts/fetch-node.sh`);
  process.exit(1);
}
// One blob serves every target: it holds no code cache or snapshot, which would be platform-specific.
const blob = join(work, 'restic-agent.blob');
const seaConfig = join(work, 'sea.json');
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: join(work, 'restic-agent.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    useSnapshot: false,
    assets: { 'winsw.exe': 'node_modules/node-windows/bin/winsw/winsw.exe' },
  }),
);
execFileSync(nodeOf(host), ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
const built = [];
for (const t of targets.filter((x) => !only || only.includes(x.name))) {
  const nodeBin = nodeOf(t);
  if (!existsSync(nodeBin)) {
    console.warn(`skipped ${t.name}: needs ${nodeBin} (sh scripts/fetch-node.sh ${t.name})`);
    continue;
  }
  const file = join(out, `restic-agent-${t.name}${t.exe}`);
  copyFileSync(nodeBin, file);
  chmodSync(file, 0o755);
  execFileSync(
    process.execPath,
    [
      'node_modules/postject/dist/cli.js',
      file,
      'NODE_SEA_BLOB',
      blob,
      '--sentinel-fuse',
      'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
      ...(t.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  built.push(file);
  console.log(`built ${file} (${(statSync(file).size / 1048576).toFixed(1)} MiB)`);
}

// 3. A Debian package around the linux-x64 binary.
const linux = built.find((f) => f.endsWith('linux-x64'));
if (linux && withDeb) built.push(buildDeb(linux));

// 4. The signed update feed, when a signing key is given: <channel>.json lists the binaries, .sig signs it.
if (signingKey) {
  const binaries = built.filter((f) => !f.endsWith('.deb'));
  const manifest = signedManifest(
    signingKey,
    channel,
    version,
    binaries.map((f) => ({ target: f.slice(out.length + 1).replace(/^restic-agent-|\.exe$/g, ''), file: f })),
  );
  writeFileSync(join(out, `${channel}.json`), manifest.json);
  writeFileSync(join(out, `${channel}.json.sig`), manifest.sig);
  console.log(`wrote the signed feed ${join(out, `${channel}.json`)} (key ${manifest.keyId})`);
}

// 5. Checksums of everything built.
const sums = built.map((f) => `${createHash('sha256').update(readFileSync(f)).digest('hex')}  ${f.slice(out.length + 1)}`);
writeFileSync(join(out, 'SHA256SUMS'), `${sums.join('\n')}\n`);
console.log(`wrote ${join(out, 'SHA256SUMS')}`);

/** dpkg-deb over a staged tree: the binary, the systemd unit as `install --root` writes it, a conffile config. */
function buildDeb(binary) {
  const root = join(work, 'deb');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  copyFileSync(binary, join(root, 'usr/bin/restic-agent'));
  chmodSync(join(root, 'usr/bin/restic-agent'), 0o755);
  mkdirSync(join(root, 'etc/restic-agent'), { recursive: true });
  copyFileSync('packaging/debian/config.yaml', join(root, 'etc/restic-agent/config.yaml'));
  // The unit the binary's own `install` would write for /usr/bin/restic-agent (without its manifest: dpkg owns it).
  execFileSync(binary, ['--config', '/etc/restic-agent/config.yaml', 'install', '--root', root, '--platform', 'linux', '--program', '/usr/bin/restic-agent'], {
    stdio: 'ignore',
  });
  rmSync(join(root, 'var'), { recursive: true, force: true });
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  copyFileSync(join(root, 'etc/systemd/system/restic-agent.service'), join(root, 'lib/systemd/system/restic-agent.service'));
  rmSync(join(root, 'etc/systemd'), { recursive: true, force: true });
  const size = Math.ceil(statSync(binary).size / 1024);
  writeFileSync(
    join(root, 'DEBIAN/control'),
    [
      'Package: restic-agent',
      `Version: ${version}`,
      'Architecture: amd64',
      'Maintainer: Restic Monitor Agent <noreply@restic-agent.invalid>',
      `Installed-Size: ${size}`,
      'Depends: restic, adduser',
      'Section: admin',
      'Priority: optional',
      'Homepage: https://restic.net',
      'Description: backup agent for restic (schedules, retention, orchestrator)',
      ' Runs restic backups, checks and retention on a schedule or from a central',
      ' orchestrator. Single binary; no Node.js needed.',
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'DEBIAN/conffiles'), '/etc/restic-agent/config.yaml\n');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    copyFileSync(join('packaging/debian', script), join(root, 'DEBIAN', script));
    chmodSync(join(root, 'DEBIAN', script), 0o755);
  }
  const deb = join(out, `restic-agent_${version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`built ${deb}`);
  return deb;
}

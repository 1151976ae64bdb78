// Bundles the headless CLI into dist/cli/ (one file plus lazily loaded chunks): starting `restic-agent`
// then reads a few files instead of hundreds of modules, which is most of its per-run overhead.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['src/main/cli.ts'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // Native modules stay in node_modules (dockerode, too: its ssh2 dependency carries optional native parts, and it is
  // loaded only when a docker source runs); electron is never part of the CLI.
  external: ['better-sqlite3', 'keytar', 'electron', 'dockerode'],
  define: { __AGENT_VERSION__: JSON.stringify(version) },
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});

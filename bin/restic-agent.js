#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build:node` (run automatically by `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('restic-agent is not built yet: run `npm run build:node` (or `npm ci`) in the project folder.');
  process.exit(78);
}
await import(cli.href);

// npm does not link a project's own `bin` into its node_modules/.bin, so `npx restic-agent` inside a clone
// would try to install the project from the registry. Linking it here makes `npx restic-agent` run this checkout.
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';

mkdirSync('node_modules/.bin', { recursive: true });
rmSync('node_modules/.bin/restic-agent', { force: true });
symlinkSync('../../bin/restic-agent.js', 'node_modules/.bin/restic-agent');

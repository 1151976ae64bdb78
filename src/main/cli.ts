#!/usr/bin/env node
/**
 * `restic-agent`: the headless shell over the agent core (servers, systemd/launchd/Windows services, scripts).
 *
 * Human output on stdout, logs on stderr; `--json` for scripts; exit codes in `cli/exit-codes.ts`. The commands
 * live in `cli/commands/`, one file per group; this file is only the entry point (bundled by scripts/build-cli.js).
 */
import { main } from './cli/program.js';

process.exitCode = await main(process.argv);

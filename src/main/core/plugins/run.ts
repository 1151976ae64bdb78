import { execa } from 'execa';
import { redact } from '../log/redact.js';
import { dumpEnv } from '../restic/env.js';
import type { PluginCommand } from './types.js';

/** How long a plugin's own query (list the databases, create one for a restore) may take. */
const QUERY_TIMEOUT_MS = 60_000;

/**
 * Runs a plugin's helper command (no shell, the dump environment) and returns its stdout; throws with the
 * command's redacted stderr when it fails, so the run's message says what the server answered.
 */
export async function runPluginCommand(c: PluginCommand, signal: AbortSignal, timeoutMs = QUERY_TIMEOUT_MS): Promise<string> {
  const [file, ...args] = c.command;
  if (!file) throw new Error('empty command');
  const r = await execa(file, args, {
    env: dumpEnv(c.env),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout: timeoutMs,
    cancelSignal: signal,
    windowsHide: true,
  });
  if (r.failed) {
    const why = (typeof r.stderr === 'string' && r.stderr.trim()) || (r.shortMessage ?? 'no output');
    throw new Error(`${file} failed: ${redact(why).slice(0, 500)}`);
  }
  return typeof r.stdout === 'string' ? r.stdout : '';
}

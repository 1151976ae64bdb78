import type { CommandRunner } from './run-command.js';

/** Parses `pmset -g batt`: the first line says `Now drawing from 'AC Power'` or `'Battery Power'`. */
export function parsePmsetBatt(output: string): boolean | null {
  const m = /drawing from '([^']+)'/i.exec(output);
  if (!m?.[1]) return null;
  if (/AC Power/i.test(m[1])) return true;
  if (/Battery Power/i.test(m[1])) return false;
  // 'UPS Power': mains has failed, treat like a battery.
  if (/UPS/i.test(m[1])) return false;
  return null;
}

/** AC power on macOS via `pmset -g batt`. (macOS has no CLI for metered/"Low Data Mode": unknown.) */
export async function macOnAcPower(run: CommandRunner): Promise<boolean | null> {
  const out = await run('pmset', ['-g', 'batt']);
  return out === null ? null : parsePmsetBatt(out);
}

import { execa } from 'execa';

/** Default limit for a probe command: conditions are checked before each run and must not hold it up. */
export const PROBE_TIMEOUT_MS = 3000;

/**
 * Runs a probe command and returns its stdout, or null on any failure (missing binary, non-zero exit,
 * timeout). Arguments are passed as an array: no shell, nothing to quote.
 */
export async function probeOutput(file: string, args: ReadonlyArray<string>, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | null> {
  try {
    const r = await execa(file, args, {
      timeout: timeoutMs,
      reject: false,
      stdin: 'ignore',
      env: { LC_ALL: 'C', LANG: 'C' },
      windowsHide: true,
    });
    if (r.failed || r.exitCode !== 0) return null;
    return typeof r.stdout === 'string' ? r.stdout : null;
  } catch {
    return null;
  }
}

/** A command runner, injectable so parsers can be tested against recorded output. */
export type CommandRunner = (file: string, args: ReadonlyArray<string>) => Promise<string | null>;

export const defaultCommandRunner: CommandRunner = (file, args) => probeOutput(file, args);

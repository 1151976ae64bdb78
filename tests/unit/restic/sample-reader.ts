import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** One recorded restic run from tests/fixtures/restic-samples (see its README for the format). */
export interface Sample {
  readonly version: string;
  readonly name: string;
  readonly command: string;
  /** Exit code as restic returned it (null when the shell saw 128+N for a signal). */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every recorded run (files with `STDOUT (1st run)` / `(2nd run)` have two). */
  readonly runs: ReadonlyArray<{ readonly stdout: string; readonly stderr: string }>;
}

export const SAMPLES_DIR = fileURLToPath(new URL('../../fixtures/restic-samples/', import.meta.url));
export const VERSIONS = ['0.14.0', '0.18.0', '0.19.1'] as const;

const SIGNALS: Readonly<Record<number, string>> = { 9: 'SIGKILL', 15: 'SIGTERM', 2: 'SIGINT' };

/** Parses one sample file (only its first run when a file has two). */
export function parseSample(version: string, name: string, text: string): Sample {
  const lines = text.split('\n');
  const command =
    lines
      .find((l) => l.startsWith('# command:'))
      ?.slice('# command:'.length)
      .trim() ?? '';
  const exitLine = lines.find((l) => l.startsWith('# exit_code')) ?? '';
  const m = /:\s*(?:first=)?(\d+)/.exec(exitLine);
  let code: number | null = m ? Number(m[1]) : null;
  let signal: string | null = null;
  // Shell view: 137/143 mean killed by SIGKILL/SIGTERM; 130 is restic's own exit(130).
  if (code !== null && code > 128 && code !== 130) {
    signal = SIGNALS[code - 128] ?? `signal ${code - 128}`;
    code = null;
  }
  // Split into sections at the `# ---- STDOUT|STDERR [(Nth run)] ----` markers, in file order.
  const sections: Array<{ which: string; body: string[] }> = [];
  for (const l of lines) {
    const mark = /^# -{5,} (STDOUT|STDERR)/.exec(l);
    if (mark) sections.push({ which: mark[1] ?? '', body: [] });
    else if (sections.length > 0) sections[sections.length - 1]?.body.push(l);
  }
  const runs: Array<{ stdout: string; stderr: string }> = [];
  for (const sec of sections) {
    if (sec.which === 'STDOUT') runs.push({ stdout: sec.body.join('\n'), stderr: '' });
    else if (runs.length > 0) (runs[runs.length - 1] as { stderr: string }).stderr = sec.body.join('\n');
  }
  const first = runs[0] ?? { stdout: '', stderr: '' };
  return { version, name, command, code, signal, stdout: first.stdout, stderr: first.stderr, runs };
}

/** All `.txt` samples of one version. */
export function loadSamples(version: string): Sample[] {
  const dir = join(SAMPLES_DIR, version);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => parseSample(version, f, readFileSync(join(dir, f), 'utf8')));
}

/** One sample by version and file-name prefix (e.g. `06-`). */
export function sample(version: string, prefix: string): Sample {
  const s = loadSamples(version).find((x) => x.name.startsWith(prefix));
  if (!s) throw new Error(`no sample ${version}/${prefix}*`);
  return s;
}

import { readdirSync, readFileSync } from 'node:fs';

/**
 * Samples every process's argv (`/proc/<pid>/cmdline`) until stopped: the evidence that a secret never reached
 * argv, and that the commands it should have seen (pg_dump, mysqldump) did run while sampling.
 */
export function sampleArgv(
  secrets: ReadonlyArray<string>,
  everyMs = 5,
): { commands: Set<string>; leaks: string[]; stop: () => { commands: Set<string>; leaks: string[] } } {
  const commands = new Set<string>();
  const leaks: string[] = [];
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let argv: string;
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue; // gone already
      }
      if (!argv) continue;
      commands.add(argv);
      if (secrets.some((s) => argv.includes(s))) leaks.push(argv);
    }
  }, everyMs);
  return {
    commands,
    leaks,
    stop: () => {
      clearInterval(timer);
      return { commands, leaks };
    },
  };
}

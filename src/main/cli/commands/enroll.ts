import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { ConfigError } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

interface EnrollOpts {
  url: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
  protocol: 'auto' | 'v1' | 'restic-monitor';
  insecureLoopback?: boolean;
  force?: boolean;
}

/** `enroll`: connect to an orchestrator; the token goes to the secret store, never the config file. */
export function registerEnroll(program: Command, cli: CliContext): void {
  program
    .command('enroll')
    .description('connect this agent to an orchestrator (the token goes to the secret store, never the config file)')
    .requiredOption('--url <url>', 'orchestrator base URL (https://…)')
    .option('--token <token>', 'v1: the enrollment token (single use); restic-monitor: the API credential')
    .option('--token-file <path>', 'read the token from this file ("-" = standard input), keeping it out of ps and shell history')
    .option('--ca-file <pem>', 'CA certificate for a private PKI')
    .addOption(new Option('--protocol <dialect>', 'orchestrator API').choices(['auto', 'v1', 'restic-monitor']).default('auto'))
    .option('--insecure-loopback', 'allow plain http:// to a loopback address (development and tests only)')
    .option('--force', 'replace an existing enrollment')
    .action(
      cli.act(async (o: EnrollOpts) => {
        const token = await readToken(o);
        const request = {
          url: o.url,
          token,
          caFile: o.caFile ?? null,
          protocol: o.protocol,
          insecureLoopback: o.insecureLoopback ?? false,
          force: o.force ?? false,
        };
        // A server enrolled with no config file yet gets one holding only the orchestrator section.
        const result = await cli.withAgent((a) => a.enroll(request), 'empty');
        cli.output(
          result,
          () => `enrolled (${result.dialect}${result.agentId ? `, agent id ${result.agentId}` : ''}); start the agent with \`restic-agent run\``,
        );
        return EXIT.ok;
      }),
    );
}

/** The token from `--token-file` (or stdin), `RESTIC_AGENT_TOKEN`, or `--token`, in that order. */
async function readToken(o: { token?: string; tokenFile?: string }): Promise<string> {
  const fromFile = o.tokenFile ? await readFile(o.tokenFile === '-' ? '/dev/stdin' : o.tokenFile, 'utf8') : undefined;
  const token = (fromFile ?? process.env.RESTIC_AGENT_TOKEN ?? o.token ?? '').trim();
  if (!token)
    throw new ConfigError('enroll', [{ path: '--token', message: 'give the token with --token-file FILE (or - for stdin), RESTIC_AGENT_TOKEN, or --token' }]);
  return token;
}

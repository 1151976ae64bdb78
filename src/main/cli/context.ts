import type { Command } from 'commander';
import type { LogEntry } from '../../shared/model/log.js';
import { type AgentCore, type AgentCoreOptions, createAgentCore, currentPlatformPaths, formatHuman } from '../core/index.js';

/** The global options every command sees. */
export interface GlobalOpts {
  config?: string;
  json?: boolean;
  logFormat: 'text' | 'json';
  quiet?: boolean;
  recover: boolean;
}

/** What the commands share: the global options, log and result output, and starting the agent core. */
export class CliContext {
  /** The exit code of the action that ran (Commander ignores what actions return). */
  exitCode = 0;

  constructor(private readonly program: Command) {}

  get globals(): GlobalOpts {
    return this.program.opts<GlobalOpts>();
  }

  get configPath(): string {
    return this.globals.config ?? currentPlatformPaths().configFile;
  }

  /** Wraps an action so that the number it resolves to becomes the process exit code. */
  act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      this.exitCode = await fn(...args);
    };
  }

  /** Log lines go to stderr (text or JSON; `--quiet` keeps errors only), results to stdout. */
  readonly printLog = (e: LogEntry): void => {
    const { logFormat, quiet } = this.globals;
    if (quiet && e.level !== 'error') return;
    process.stderr.write((logFormat === 'json' ? JSON.stringify(e) : formatHuman(e)) + '\n');
  };

  /** Prints `value` as JSON with `--json`, else the human text. */
  output(value: unknown, human: () => string): void {
    process.stdout.write((this.globals.json ? JSON.stringify(value, null, 2) : human()) + '\n');
  }

  /** Starts the core for this invocation's config file. */
  startCore(opts: { schedule: boolean; ifMissing: AgentCoreOptions['ifMissing'] }): Promise<AgentCore> {
    return createAgentCore({ configPath: this.configPath, ...opts, recoverCorruptState: this.globals.recover, onLog: this.printLog });
  }

  /** Runs `fn` against a core without schedules (a one-shot command), and stops it afterwards. */
  async withAgent<T>(fn: (agent: AgentCore) => Promise<T>, ifMissing: AgentCoreOptions['ifMissing'] = 'fail'): Promise<T> {
    const agent = await this.startCore({ schedule: false, ifMissing });
    try {
      return await fn(agent);
    } finally {
      await agent.stop();
    }
  }
}

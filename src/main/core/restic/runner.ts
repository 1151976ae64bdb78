import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createWriteStream, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { redact } from '../log/redact.js';
import { setLongTimeout, type TimerHandle } from '../time/timers.js';
import { StringDecoder } from 'node:string_decoder';
import { parseJsonEvent, type JsonEvent } from './backup-parser.js';
import { classifyLine, HeadTail, LineSplitter, sayingWhy } from './lines.js';
import type { StopReason } from './outcome.js';

/** How to run one restic process. */
export interface RunSpec {
  readonly binary: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Keep the whole stdout for a single-document command instead of streaming it line by line. */
  readonly collectStdout?: boolean;
  /** Wrap with `nice -n 10 ionice -c 3 -t` on Linux when those tools exist. */
  readonly lowPriority?: boolean;
  readonly signal?: AbortSignal;
  /** Hard limit for the run (0/undefined = none). */
  readonly timeoutMs?: number;
  /** Stop when neither pipe printed anything for this long (0/undefined = off). */
  readonly stallTimeoutMs?: number;
  /** SIGINT → wait this long → SIGKILL. */
  readonly cancelGraceMs?: number;
  /** A parsed JSON line (any stream) other than `exit_error`, with its typed view. */
  readonly onJson?: (ev: JsonEvent, obj: unknown, stream: 'stdout' | 'stderr') => void;
  /** A non-JSON line, already cleaned and redacted. */
  readonly onText?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called once restic runs (crash recovery journals the pid to find an orphan later). */
  readonly onSpawn?: (pid: number) => void;
  /**
   * What restic's stdin reads (`backup --stdin`): a command's stdout (restic < 0.17), which shares restic's stdin
   * pipe so no data passes through the agent, or a stream the agent reads (piped with backpressure). Either way restic's
   * stdin is ended only after the command exited 0 or the stream ended cleanly; otherwise restic is stopped (SIGINT,
   * then SIGKILL after a short grace), so a truncated stream never becomes a snapshot. Memory stays flat.
   */
  readonly stdinFrom?: HelperCommand | StreamSource;
  /**
   * Where restic's stdout goes instead of being parsed (`restic dump`): a command's stdin (`pg_restore`) or a
   * stream sink (the Engine API), with backpressure, or a new file (0600). If the command or sink fails, restic is
   * stopped; the run ends once both did.
   */
  readonly stdoutTo?: HelperCommand | StreamSink | { readonly file: string };
}

/** A command run next to restic (no shell), with its whole environment. */
export interface HelperCommand {
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * A stream the agent reads itself (a volume's tar from the Engine API): it has ended well only when it emits `end`;
 * an `error` means it is incomplete. `signal` aborts when the run stops.
 */
export interface StreamSource {
  readonly open: (signal: AbortSignal) => Promise<Readable>;
}

/** Consumes restic's stdout (a tar into a new volume); resolves once all of it is stored, rejects when it cannot be. */
export interface StreamSink {
  readonly write: (data: Readable, signal: AbortSignal) => Promise<void>;
}

/** What came out of the process, before classification. */
export interface RawRun {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stopReason: StopReason;
  /** True when the grace period ran out and SIGKILL was sent. */
  readonly forceKilled: boolean;
  readonly spawnError: string | null;
  /** The whole stdout when `collectStdout` was set, else ''. */
  readonly stdout: string;
  /** Head and tail of stderr text (redacted), with `exit_error` messages. */
  readonly stderr: string;
  readonly exitError: { readonly code: number; readonly message: string } | null;
  readonly durationMs: number;
  /** Why the `stdinFrom` command failed; null when it succeeded or there was none. */
  readonly producerError?: string | null;
  /** Why the `stdoutTo` command (or file) failed; null when it succeeded or there was none. */
  readonly consumerError?: string | null;
}

/**
 * Routes each output line: `exit_error` is kept aside, other JSON goes to `onJson`, text (cleaned and
 * redacted) goes to `onText`; stderr text and error messages are kept head+tail for classification.
 */
export class OutputHandler {
  readonly stderr = new HeadTail();
  exitError: { code: number; message: string } | null = null;

  constructor(
    private readonly onJson?: RunSpec['onJson'],
    private readonly onText?: RunSpec['onText'],
  ) {}

  /** Handles one raw line of `stream`. */
  line(raw: string, stream: 'stdout' | 'stderr'): void {
    const line = classifyLine(raw);
    if (line.kind === 'json') {
      const ev = parseJsonEvent(line.obj);
      if (ev.kind === 'exit-error') {
        this.exitError = { code: ev.code, message: redact(ev.message) };
        this.stderr.push(this.exitError.message);
        return;
      }
      if (ev.kind === 'message') this.stderr.push(redact(ev.message));
      this.onJson?.(ev, line.obj, stream);
      return;
    }
    if (!line.text) return;
    const text = redact(line.text);
    if (stream === 'stderr') this.stderr.push(text);
    this.onText?.(text, stream);
  }
}

/**
 * How long restic has after SIGINT once the stream it reads failed. restic 0.19 blocked in a read of its stdin does not
 * return on SIGINT, and the stream it waits for is never ended (that would look like a whole dump): it is killed.
 * Killing is safe, as restic writes the snapshot last; the unlock after a stop removes its lock.
 */
const PRODUCER_GRACE_MS = 2_000;

/** Cap for collected single-document stdout (thousands of snapshots fit easily). */
const MAX_COLLECT = 256 * 1024 * 1024;

let lowPrioPrefix: string[] | null | undefined;

/** True when `cmd` is an absolute path that exists, or a name found on PATH. */
export function onPath(cmd: string): boolean {
  if (isAbsolute(cmd)) return existsSync(cmd);
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

/** `nice`/`ionice` prefix for low-priority runs on Linux (exec chain keeps restic's PID, so signals still reach it). */
export function lowPriorityPrefix(): string[] {
  if (lowPrioPrefix === undefined) {
    lowPrioPrefix = null;
    if (process.platform === 'linux' && onPath('nice')) {
      lowPrioPrefix = ['nice', '-n', '10', ...(onPath('ionice') ? ['ionice', '-c', '3', '-t'] : [])];
    }
  }
  return lowPrioPrefix ?? [];
}

/**
 * Spawns restic (no shell, stdin = /dev/null), streams both pipes line by line and resolves on `close`.
 *
 * Stopping (abort, timeout, stall) sends SIGINT, then SIGKILL after `cancelGraceMs`; the caller decides what to
 * do afterwards (e.g. `restic unlock`). Never rejects: failures are reported in the RawRun.
 */
export function runProcess(spec: RunSpec): Promise<RawRun> {
  const started = Date.now();
  let collected = '';
  let stopReason: StopReason = null;
  let forceKilled = false;

  if (spec.signal?.aborted) {
    return Promise.resolve({
      code: null,
      signal: null,
      stopReason: 'cancel',
      forceKilled: false,
      spawnError: null,
      stdout: '',
      stderr: '',
      exitError: null,
      durationMs: 0,
    });
  }

  const prefix = spec.lowPriority ? lowPriorityPrefix() : [];
  const [cmd, ...pre] = prefix.length > 0 ? prefix : [spec.binary];
  const args = prefix.length > 0 ? [...pre, spec.binary, ...spec.args] : [...spec.args];

  return new Promise<RawRun>((resolve) => {
    // stdin stays /dev/null unless a command feeds it: an open pipe makes restic read the password from it.
    const opts = { env: { ...spec.env }, windowsHide: true } as const;
    const child: ChildProcessByStdio<Writable | null, Readable, Readable> = spec.stdinFrom
      ? spawn(cmd ?? spec.binary, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(cmd ?? spec.binary, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) spec.onSpawn?.(child.pid);
    const timers: TimerHandle[] = [];
    let stallTimer: TimerHandle | undefined;
    let spawnError: string | null = null;
    let done = false;

    const stop = (reason: Exclude<StopReason, null>) => {
      if (stopReason || done) return;
      stopReason = reason;
      child.kill('SIGINT');
      const grace = spec.cancelGraceMs ?? 60_000;
      const t = setLongTimeout(
        () => {
          if (done) return;
          forceKilled = true;
          child.kill('SIGKILL');
        },
        reason === 'producer' ? Math.min(grace, PRODUCER_GRACE_MS) : grace,
      );
      timers.push(t);
    };
    const armStall = () => {
      if (!spec.stallTimeoutMs || stopReason) return;
      stallTimer?.cancel();
      stallTimer = setLongTimeout(() => stop('stall'), spec.stallTimeoutMs);
    };

    const handler = new OutputHandler(spec.onJson, spec.onText);
    const onLine = (stream: 'stdout' | 'stderr') => (raw: string) => handler.line(raw, stream);
    const overflow = (stream: 'stdout' | 'stderr') => (kept: string) => spec.onText?.(`[line longer than the limit dropped: ${redact(kept)}…]`, stream);
    const collectDecoder = new StringDecoder('utf8');
    const outSplit = new LineSplitter(onLine('stdout'), undefined, overflow('stdout'));
    const errSplit = new LineSplitter(onLine('stderr'), undefined, overflow('stderr'));

    let consumerError: string | null = null;
    const consumer = spec.stdoutTo ? drainStdout(spec.stdoutTo, child.stdout, (line) => spec.onText?.(`restore: ${redact(line)}`, 'stderr')) : null;
    void consumer?.exited.then((failure) => {
      if (failure === null) return;
      consumerError = failure;
      stop('consumer');
    });

    child.stdout.on('data', (chunk: Buffer) => {
      armStall();
      if (consumer) return;
      if (spec.collectStdout) {
        if (collected.length < MAX_COLLECT) collected += collectDecoder.write(chunk);
      } else outSplit.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      armStall();
      errSplit.push(chunk);
    });

    let producerError: string | null = null;
    const producer = spec.stdinFrom && child.stdin ? feedStdin(spec.stdinFrom, child.stdin, (line) => spec.onText?.(`dump: ${redact(line)}`, 'stderr')) : null;
    void producer?.exited.then((failure) => {
      if (failure === null) return;
      producerError = failure;
      stop('producer');
    });

    const abort = () => stop('cancel');
    spec.signal?.addEventListener('abort', abort, { once: true });
    if (spec.timeoutMs && spec.timeoutMs > 0) timers.push(setLongTimeout(() => stop('timeout'), spec.timeoutMs));
    armStall();

    const finish = async (code: number | null, signal: string | null) => {
      if (done) return;
      done = true;
      producer?.kill();
      for (const t of timers) t.cancel();
      stallTimer?.cancel();
      spec.signal?.removeEventListener('abort', abort);
      outSplit.end();
      if (spec.collectStdout) collected += collectDecoder.end();
      errSplit.end();
      // restic's stdout has ended: the consumer reads the rest and exits (or is stopped, if restic failed).
      if (consumer) {
        if (code !== 0) consumer.kill();
        consumerError ??= await consumer.exited;
      }
      resolve({
        code,
        signal,
        stopReason,
        forceKilled,
        spawnError,
        stdout: collected,
        stderr: handler.stderr.text(),
        exitError: handler.exitError,
        durationMs: Date.now() - started,
        producerError,
        consumerError,
      });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = spawnFailure(e, cmd ?? spec.binary);
      // When spawning failed there is no process and 'close' may not follow.
      if (child.pid === undefined) void finish(null, null);
    });
    child.on('close', (code, signal) => void finish(code, signal));
  });
}

/**
 * Feeds `source` (a command's stdout, or a stream) into `stdin`, ending `stdin` only when the command exited 0 or
 * the stream ended without an error. `exited` resolves to null on success, else to why it failed.
 */
function feedStdin(source: HelperCommand | StreamSource, stdin: Writable, onStderr: (line: string) => void): Helper {
  // restic may exit early (wrong password, cancel): a broken pipe then is expected, not a crash.
  stdin.on('error', () => {});
  let h: Helper;
  if ('open' in source) {
    const s = openStream(source);
    void s.stream.then((out) => out?.pipe(stdin, { end: false }));
    h = s;
  } else {
    // The command writes straight into restic's stdin pipe (its fd is shared, the data never passes through the
    // agent). The agent keeps its own end open, so restic sees the end of the stream only when it is closed below.
    h = spawnHelper(source, 'ignore', onStderr, stdin);
  }
  void h.exited.then((failure) => failure === null && stdin.end());
  return h;
}

/** A `StreamSource` as a helper: it succeeded when the stream emitted `end`; `kill` aborts it. */
function openStream(source: StreamSource): Helper & { stream: Promise<Readable | null> } {
  const stop = new AbortController();
  const opened = source.open(stop.signal).then(
    (stream) => ({ stream }),
    (e: unknown) => ({ error: (e as Error).message }),
  );
  const stream = opened.then((o) => ('stream' in o ? o.stream : null));
  const exited = opened.then((o) =>
    'error' in o
      ? o.error
      : new Promise<string | null>((resolve) => {
          o.stream.once('error', (e) => resolve(e.message));
          o.stream.once('end', () => resolve(null));
          o.stream.once('close', () => resolve('the stream closed before its end'));
        }),
  );
  const kill = (): void => {
    stop.abort();
    void stream.then((s) => s?.destroy());
  };
  return { stream, exited, kill };
}

/**
 * Pipes restic's `stdout` into `target`: a command's stdin, a stream sink, or a new 0600 file. `exited` resolves to
 * null once the command exited 0 (or the sink or file has it all), else to why it failed.
 */
function drainStdout(target: NonNullable<RunSpec['stdoutTo']>, stdout: Readable, onOutput: (line: string) => void): Helper {
  if ('file' in target) {
    const out = createWriteStream(target.file, { mode: 0o600 });
    stdout.pipe(out);
    const exited = new Promise<string | null>((resolve) => {
      out.on('error', (e) => resolve(`cannot write ${target.file}: ${e.message}`));
      out.on('finish', () => resolve(null));
    });
    return { exited, kill: () => void 0 };
  }
  if ('write' in target) {
    const stop = new AbortController();
    const exited = target.write(stdout, stop.signal).then(
      () => null,
      (e: unknown) => (e as Error).message,
    );
    return { exited, kill: () => stop.abort() };
  }
  const h = spawnHelper(target, 'pipe', onOutput);
  const { stdin } = h.process;
  if (stdin) {
    // The consumer may exit early (it failed): restic's writes then hit a closed pipe, which is reported as its error.
    stdin.on('error', () => {});
    stdout.pipe(stdin);
  }
  return h;
}

/** A command run next to restic: `exited` resolves to null when it exited 0, else to why it failed. */
interface Helper {
  readonly exited: Promise<string | null>;
  readonly kill: () => void;
}

/**
 * Spawns a helper command (no shell, its own environment). Its stderr goes to `onOutput` line by line; its stdout
 * too, unless the caller pipes it (a producer's stdout is restic's stdin).
 */
function spawnHelper(
  c: HelperCommand,
  stdin: 'ignore' | 'pipe',
  onOutput: (line: string) => void,
  stdout?: Writable,
): Helper & { process: ChildProcessByStdio<Writable | null, Readable | null, Readable> } {
  const [bin, ...argv] = c.command;
  const opts = { env: { ...c.env }, windowsHide: true } as const;
  const p: ChildProcessByStdio<Writable | null, Readable | null, Readable> = stdout
    ? spawn(bin ?? '', argv, { ...opts, stdio: ['ignore', stdout, 'pipe'] })
    : stdin === 'pipe'
      ? spawn(bin ?? '', argv, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(bin ?? '', argv, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  // Its last words say why it failed ("Authentication failed"): they go into the run's message.
  const lastWords: string[] = [];
  const lines = new LineSplitter((line) => {
    if (line.trim() && lastWords.push(line) > 8) lastWords.shift();
    onOutput(line);
  });
  p.stderr.on('data', (chunk: Buffer) => lines.push(chunk));
  if (stdin === 'pipe') p.stdout?.on('data', (chunk: Buffer) => lines.push(chunk));
  const exited = new Promise<string | null>((resolve) => {
    p.on('error', (e: NodeJS.ErrnoException) => resolve(spawnFailure(e, bin ?? '')));
    p.on('close', (code, signal) => {
      lines.end();
      const why = signal ? `killed by ${signal}` : `exit ${String(code)}`;
      const last = sayingWhy(lastWords);
      resolve(code === 0 ? null : last ? `${why}: ${redact(last)}` : why);
    });
  });
  return { process: p, exited, kill: () => void (p.exitCode === null && p.signalCode === null && p.kill('SIGTERM')) };
}

/** Why a program could not be started, in words. */
function spawnFailure(e: NodeJS.ErrnoException, cmd: string): string {
  return e.code === 'ENOENT' ? `"${cmd}" not found` : e.code === 'EACCES' ? `"${cmd}" is not executable` : e.message;
}

import type { JsonEvent } from '../../../src/main/core/restic/backup-parser.js';
import { LineSplitter } from '../../../src/main/core/restic/lines.js';
import { classify, type StopReason } from '../../../src/main/core/restic/outcome.js';
import { OutputHandler } from '../../../src/main/core/restic/runner.js';
import type { Sample } from './sample-reader.js';

/** What the runner would have seen for a recorded sample, fed through the real line handling. */
export interface Replay {
  readonly events: Array<{ ev: JsonEvent; stream: 'stdout' | 'stderr' }>;
  readonly texts: Array<{ line: string; stream: 'stdout' | 'stderr' }>;
  readonly handler: OutputHandler;
}

/** Replays a sample's stdout and stderr through LineSplitter + OutputHandler, in `chunk`-byte pieces. */
export function replay(s: Pick<Sample, 'stdout' | 'stderr'>, chunk = 7): Replay {
  const events: Replay['events'] = [];
  const texts: Replay['texts'] = [];
  const handler = new OutputHandler(
    (ev, _obj, stream) => events.push({ ev, stream }),
    (line, stream) => texts.push({ line, stream }),
  );
  for (const stream of ['stdout', 'stderr'] as const) {
    const split = new LineSplitter((l) => handler.line(l, stream));
    const bytes = Buffer.from(stream === 'stdout' ? s.stdout : s.stderr, 'utf8');
    for (let i = 0; i < bytes.length; i += chunk) split.push(bytes.subarray(i, i + chunk));
    split.end();
  }
  return { events, texts, handler };
}

/** Classifies a sample as the facade would. */
export function classifySample(s: Sample, stopReason: StopReason = null) {
  const r = replay(s);
  return classify({ code: s.code, signal: s.signal, stderr: r.handler.stderr.text(), exitError: r.handler.exitError, stopReason });
}

import { describe, expect, it } from 'vitest';
import { classifyLine, cleanLine, HeadTail, LineSplitter, sayingWhy } from '../../../src/main/core/restic/lines.js';

function split(chunks: Array<Buffer | string>, max?: number): { lines: string[]; overflow: string[] } {
  const lines: string[] = [];
  const overflow: string[] = [];
  const s = new LineSplitter(
    (l) => lines.push(l),
    max,
    (k) => overflow.push(k),
  );
  for (const c of chunks) s.push(c);
  s.end();
  return { lines, overflow };
}

describe('LineSplitter', () => {
  it('joins a line split across chunks', () => {
    expect(split(['{"a":', '1}\n{"b"', ':2}\n']).lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('decodes a multi-byte character split between chunks', () => {
    const bytes = Buffer.from('päth/ünïcödé €😀\nnext\n', 'utf8');
    // Cut at every possible position, including inside each multi-byte sequence.
    for (let cut = 1; cut < bytes.length; cut++) {
      const { lines } = split([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(lines).toEqual(['päth/ünïcödé €😀', 'next']);
    }
    const oneByOne = Array.from(bytes, (b) => Buffer.from([b]));
    expect(split(oneByOne).lines).toEqual(['päth/ünïcödé €😀', 'next']);
  });

  it('emits a final unterminated line on end()', () => {
    expect(split(['a\nb']).lines).toEqual(['a', 'b']);
    expect(split(['a\n']).lines).toEqual(['a']);
  });

  it('drops a runaway line but keeps the following ones', () => {
    const r = split(['x'.repeat(50), 'y'.repeat(60), 'zz\nok\n'], 100);
    expect(r.lines).toEqual(['ok']);
    expect(r.overflow).toHaveLength(1);
  });
});

describe('cleanLine / classifyLine', () => {
  it('strips \\r and ANSI CSI prefixes (restic signal messages, Windows progress)', () => {
    expect(cleanLine('\x1b[2Ksignal interrupt received, cleaning up')).toBe('signal interrupt received, cleaning up');
    expect(cleanLine('\rsignal interrupt received, cleaning up ')).toBe('signal interrupt received, cleaning up');
    expect(classifyLine('\r\x1b[2K{"message_type":"status","percent_done":0.5}')).toEqual({
      kind: 'json',
      obj: { message_type: 'status', percent_done: 0.5 },
      raw: '{"message_type":"status","percent_done":0.5}',
    });
  });

  it('only lines starting with { or [ are tried as JSON', () => {
    expect(classifyLine('[0:00] 100.00%  8 / 8 snapshots').kind).toBe('text');
    expect(classifyLine('{not json').kind).toBe('text');
    expect(classifyLine('Fatal: x').kind).toBe('text');
    expect(classifyLine('  {"a":1}').kind).toBe('text');
  });
});

describe('HeadTail', () => {
  it('keeps head and tail and counts the skipped middle', () => {
    const h = new HeadTail(2, 3, 10);
    for (let i = 0; i < 100; i++) h.push(`line ${i}`);
    expect(h.text()).toBe(['line 0', 'line 1', '… 95 lines skipped …', 'line 97', 'line 98', 'line 99'].join('\n'));
    expect(h.last(2)).toEqual(['line 98', 'line 99']);
  });
  it('cuts very long lines', () => {
    const h = new HeadTail(1, 1, 5);
    h.push('abcdefghij');
    expect(h.text()).toBe('abcde…');
  });
});

describe('sayingWhy', () => {
  it('picks the last line naming an error over trailing detail', () => {
    const pgDump = [
      'pg_dump: error: Dumping the contents of table "blobs" failed: PQgetResult() failed.',
      'pg_dump: detail: Error message from server: server closed the connection unexpectedly',
      'pg_dump: detail: Command was: COPY public.blobs (id, data) TO stdout;',
    ];
    expect(sayingWhy(pgDump)).toBe('pg_dump: detail: Error message from server: server closed the connection unexpectedly');
  });
  it('falls back to the last non-empty line', () => {
    expect(sayingWhy(['starting', 'no such database ', '  '])).toBe('no such database');
    expect(sayingWhy([])).toBe('');
  });
});

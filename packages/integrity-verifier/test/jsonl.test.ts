import { describe, expect, it } from 'vitest';
import { JsonlChecker } from '../src/jsonl.js';

function check(text: string | Buffer, cut: number): { lines: number[]; messages: string[]; total: number } {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const c = new JsonlChecker('f.jsonl', 3);
  for (let i = 0; i < bytes.length; i += cut) c.push(bytes.subarray(i, i + cut));
  const f = c.end();
  return { lines: f.map((x) => x.line!), messages: f.map((x) => x.message), total: c.total };
}

describe('JsonlChecker', () => {
  const text = '{"a":1}\n\n  \nnot json\n{"é":"ü ✓"}\n{"b":\n[1,2]\r\n{"c":3}';
  it.each([1, 2, 3, 5, 7, 64, 1 << 20])('finds the same lines whatever the chunking (%i)', (cut) => {
    expect(check(text, cut)).toEqual({
      lines: [4, 6],
      messages: ['f.jsonl line 4 is not valid JSON (8 bytes)', 'f.jsonl line 6 is not valid JSON (5 bytes)'],
      total: 2,
    });
  });

  it('checks a last line without newline, counts past the kept findings, and reports raw byte lengths', () => {
    const bad = Buffer.concat([Buffer.from('x\ny\n'), Buffer.from([0x7b, 0xff, 0xfe]), Buffer.from('\n{}\nz')]);
    const r = check(bad, 2);
    expect(r.total).toBe(4);
    expect(r.lines).toEqual([1, 2, 3]);
    expect(r.messages[2]).toBe('f.jsonl line 3 is not valid JSON (3 bytes)');
  });

  it('skips lines that are only whitespace, as String.prototype.trim sees it (\\f, \\v, NBSP, BOM)', () => {
    expect(check('{"a":1}\n\f\v \n\u00a0\n\ufeff\n{"b":2}\n', 3)).toEqual({ lines: [], messages: [], total: 0 });
  });
});

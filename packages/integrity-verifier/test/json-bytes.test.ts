import { describe, expect, it } from 'vitest';
import { isJsonText } from '../src/json-bytes.js';

const accepts = (s: string) => {
  const b = Buffer.from(s);
  return isJsonText(b, 0, b.length);
};
const parses = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

describe('isJsonText agrees with JSON.parse', () => {
  const seeds = [
    '{"a":[1,2.5e+3,-0.1,true,false,null,"x\\u00e9\\n"],"b":{}}',
    '[{"k":"v"},[],[[]],0,-1E-2]',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    ' {"é":"ü ✓", "n": 12345678901234567890} \r',
    '123',
    '-0',
    '[1,]',
    '{"a":1,}',
    '01',
    '1.',
    '.5',
    '[\t\n ]',
    'nul',
    '"\u0001"',
    // Long strings, so mutations land at every offset of the four-bytes-a-step scan.
    '{"note":"delta account verify checksum charlie warn","tags":["upload","checksum"],"amount":448.47}',
  ];

  it.each(seeds)('on %j', (s) => expect(accepts(s)).toBe(parses(s)));

  it('on 200,000 mutations of valid and invalid documents', () => {
    // Deterministic xorshift so a failure can be replayed.
    let x = 0x9e3779b9;
    const rand = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const alphabet = '{}[]":,0123456789-+.eEtrufnlas \\\t\r\u0001xé'.split('');
    const mismatches: string[] = [];
    let valid = 0;
    for (let k = 0; k < 200_000; k++) {
      let s = seeds[k % seeds.length]!;
      for (let m = 0; m <= k % 3; m++) {
        const p = rand(s.length + 1);
        const c = alphabet[rand(alphabet.length)]!;
        const op = rand(3);
        s =
          op === 0
            ? s.slice(0, p) + c + s.slice(p)
            : op === 1
              ? s.slice(0, p) + s.slice(p + 1)
              : s.slice(0, p) + c + s.slice(p + 1);
      }
      if (parses(s)) valid++;
      if (accepts(s) !== parses(s)) mismatches.push(s);
    }
    expect(mismatches).toEqual([]);
    expect(valid).toBeGreaterThan(10_000);
  });

  it('hands very deep documents to JSON.parse instead of overflowing the stack', () => {
    expect(accepts(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)).toBe(true);
    expect(accepts(`${'['.repeat(100_000)}${']'.repeat(99_999)}`)).toBe(false);
  });

  it('accepts invalid UTF-8 inside strings, as JSON.parse does after decoding', () => {
    const b = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(isJsonText(b, 0, b.length)).toBe(parses(b.toString('utf8')));
  });
});

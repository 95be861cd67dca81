import { expect, it } from 'vitest';
import { runReadmeExample } from '../../../readme-example.js';

it("the README's example runs as pasted", async () => {
  expect(await runReadmeExample(new URL('../', import.meta.url))).toEqual([['greeting.txt', 'file', 'hello\n']]);
});

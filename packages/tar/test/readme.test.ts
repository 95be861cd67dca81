import { readFile, rm, writeFile } from 'node:fs/promises';
import { expect, it, vi } from 'vitest';

it("the README's example runs as pasted", async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const file = new URL(`./readme-example-${process.pid}.ts`, import.meta.url);
  await writeFile(file, /```ts\n([\s\S]*?)```/.exec(readme)![1]!);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(file.href);
    expect(log.mock.calls).toEqual([['greeting.txt', 'file', 'hello\n']]);
  } finally {
    log.mockRestore();
    await rm(file);
  }
});

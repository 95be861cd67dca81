import { readFile, rm, writeFile } from 'node:fs/promises';
import { vi } from 'vitest';

/**
 * Runs the first ```ts block of a package's README as a module of that package (so its own
 * name resolves) and returns what it printed with console.log: the example must work as pasted.
 */
export async function runReadmeExample(packageDir: URL): Promise<unknown[][]> {
  const readme = await readFile(new URL('README.md', packageDir), 'utf8');
  const file = new URL(`test/readme-example-${process.pid}.ts`, packageDir);
  await writeFile(file, /```ts\n([\s\S]*?)```/.exec(readme)![1]!);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(file.href);
    return log.mock.calls;
  } finally {
    log.mockRestore();
    await rm(file);
  }
}

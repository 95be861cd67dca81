import { mergeConfig } from 'vitest/config';
import base from '../../vitest.base.ts';

// The built-in runbooks are imported as text, as tsup's text loader does in the build.
export default mergeConfig(base, {
  plugins: [
    {
      name: 'yaml-as-text',
      transform: (code: string, id: string) =>
        id.endsWith('.yaml') ? `export default ${JSON.stringify(code)};` : undefined,
    },
  ],
});

import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// contract-child and lease-child are the second processes of the contract suites' cross-process tests.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/contract-child.ts', 'src/lease-child.ts'] });

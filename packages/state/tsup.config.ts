import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// contract-child is the second process of the contract suite's cross-process tests.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/contract-child.ts'] });

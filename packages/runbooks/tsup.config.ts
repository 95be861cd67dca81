import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// The built-in runbooks (runbooks/*.yaml) are bundled as text.
export default defineConfig({ ...base, loader: { '.yaml': 'text' } });

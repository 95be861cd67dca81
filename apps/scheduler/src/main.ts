#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// Idle, the daemon's RSS is mostly V8's young generation, grown by start-up's allocations (yaml,
// zod schemas): keep it at its first size (~8 MiB less). Set before anything else loads; the
// daemon's own work is small (jobs run in child processes).
setFlagsFromString('--semi-space-growth-factor=1');
await import('./run.js');

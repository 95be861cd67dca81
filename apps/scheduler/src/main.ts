#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// Idle, the daemon's RSS is mostly V8's young generation, grown by start-up's allocations (yaml,
// zod schemas): keep it at its first size (~8 MiB less). Set before anything else loads; the
// daemon's own work is small (jobs run in child processes).
setFlagsFromString('--semi-space-growth-factor=1');
// No TurboFan: its first compile (zod's schema constructors at start-up, prom-client's at the
// first scrapes) pages in ~5 MiB of the compiler's machine code and its zone memory, and a scrape
// or a slot costs the same in the baseline tiers. Jobs are child processes, which keep it.
setFlagsFromString('--no-turbofan');
await import('./run.js');

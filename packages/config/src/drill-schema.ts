import * as z from 'zod';
import { hinted } from './hints.js';

/** `drill:`: where a drill restores to. (`service:`, started from the sandbox and probed, joins with failover's probes.) */
export const drillSchema = hinted(
  z.strictObject({
    /** The folder each drill's sandbox is made in (default: the system's temporary folder). */
    sandbox: hinted(z.string().min(1), { expected: 'a folder path', write: 'a path', example: '/var/tmp/drkit-drills' }).optional(),
    /** A scratch Redis to restore Redis sources into; its databases are emptied. Default: a redis-server the drill starts. */
    redis: hinted(z.string().regex(/^rediss?:\/\//i), { expected: 'a redis:// URL of a scratch server', write: 'a URL', example: '"redis://127.0.0.1:6390"' }).optional(),
    /** The redis-server binary a drill starts when `redis` is not given. */
    redis_server: hinted(z.string().min(1), { expected: 'the path of redis-server', write: 'a path', example: '/usr/bin/redis-server' }).default('redis-server'),
  }),
  { expected: 'drill settings (sandbox, redis, redis_server)', write: 'settings indented under drill', example: '{ sandbox: /var/tmp/drkit-drills }' },
);

export type DrillConfig = z.output<typeof drillSchema>;

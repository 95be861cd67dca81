import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { probeSchema } from './failover-schema.js';
import { hinted } from './hints.js';

const duration = (example: string) =>
  hinted(
    z.string().refine((text) => (durationMs(text) ?? 0) > 0),
    {
      expected: `a positive duration like ${example}`,
      write: `whole numbers with a unit (${DURATION_UNITS})`,
      example,
    },
  );

const command = (example: string) =>
  hinted(z.string().min(1), { expected: 'a shell command', write: 'a quoted command', example });

/** `drill:`: where a drill restores to, and how it starts and checks the service there. */
export const drillSchema = hinted(
  z.strictObject({
    /** The folder each drill's sandbox is made in (default: the system's temporary folder). */
    sandbox: hinted(z.string().min(1), {
      expected: 'a folder path',
      write: 'a path',
      example: '/var/tmp/drkit-drills',
    }).optional(),
    /**
     * A scratch Redis to restore Redis sources into; its databases
     * are emptied. Default: a redis-server the drill starts.
     */
    redis: hinted(z.string().regex(/^rediss?:\/\//i), {
      expected: 'a redis:// URL of a scratch server',
      write: 'a URL',
      example: '"redis://127.0.0.1:6390"',
    }).optional(),
    /** The redis-server binary a drill starts when `redis` is not given. */
    redis_server: hinted(z.string().min(1), {
      expected: 'the path of redis-server',
      write: 'a path',
      example: '/usr/bin/redis-server',
    }).default('redis-server'),
    service: hinted(
      z.strictObject({
        /**
         * Started with `sh -c` in the sandbox; $DRKIT_DRILL_<SOURCE> and $DRKIT_DRILL_REDIS_URL say where the data is.
         */
        command: command('"node server.js --data $DRKIT_DRILL_DATA"'),
        env: hinted(z.record(z.string(), z.string()), {
          expected: 'environment variables (NAME: value)',
          write: 'a mapping',
          example: '{ PORT: "18080" }',
        }).default(() => ({})),
        /** The sandboxed service is up when all of these pass (failover's probes). */
        health: hinted(z.array(probeSchema).min(1), {
          expected: 'a list of probes of the sandboxed service',
          write: 'a list',
          example: '[{ type: http, url: "http://127.0.0.1:18080/health" }]',
        }),
        /** How long the service may take to become healthy. */
        ready_within: duration('60s').default('2m'),
        /** Run once the service is healthy; it passes when it exits 0. */
        smoke: command('"curl -fsS http://127.0.0.1:18080/items/1"').optional(),
        smoke_timeout: duration('1m').default('5m'),
      }),
      {
        expected: 'the service to start from the sandbox (command, env, health, smoke)',
        write: 'settings indented under service',
        example: '{ command: "node server.js" }',
      },
    ).optional(),
  }),
  {
    expected: 'drill settings (sandbox, redis, service)',
    write: 'settings indented under drill',
    example: '{ service: { command: "node server.js" } }',
  },
);

export type DrillConfig = z.output<typeof drillSchema>;

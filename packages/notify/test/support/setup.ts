// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { parseConfigText } from '@drkit/config';
import { type Incident, Notifier, type NotifierOptions, type OutboxRecord, policyFromConfig } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import { tempDir } from '@drkit/test-support';
import { FakeClock } from './fake-clock.js';
import { HttpChannel } from './http-channel.js';
import { Receiver } from './receiver.js';

/** The issue's routes, over channels that all post to one recording receiver (a path each). */
export const ISSUE_ROUTES = `
  routes:
    P1: { channels: [phone, pager, ops-email, ops-slack], within: 0s, repeat_every: 15m }
    P2: { channels: [ops-email, ops-slack], within: 15m }
    P3: { channels: [ops-slack], within: 1h }
    P4: { channels: [ops-email], within: 24h }
`;

export const CHANNELS = ['phone', 'pager', 'ops-email', 'ops-slack', 'dba-email', 'hook'];

export interface Bench {
  notifier: Notifier;
  clock: FakeClock;
  receiver: Receiver;
  store: FolderStateStore;
  dir: string;
  log: string[];
  /** The messages each channel received, as the receiver saw them. */
  got(channel: string): { kind: string; title: string; idempotencyKey: string; incidents: Incident[] }[];
  records(): Promise<OutboxRecord[]>;
  cleanup(): Promise<void>;
}

/** A notifier on a real folder store, a fake clock, and real HTTP channels to a recording receiver. */
export async function bench(routes = ISSUE_ROUTES, options: Partial<NotifierOptions> = {}): Promise<Bench> {
  const { dir, cleanup } = await tempDir('drkit-notify-');
  const receiver = await Receiver.start();
  const clock = new FakeClock();
  const store = new FolderStateStore(dir);
  const channelYaml = CHANNELS.map((name) => `    ${name}: { type: webhook, url: "http://127.0.0.1/${name}" }`).join(
    '\n',
  );
  const config = parseConfigText(
    `sources: [{ name: a, type: files, path: /a }]\nnotify:\n  channels:\n${channelYaml}\n${routes}`,
    'drkit.config.yaml',
    {},
  );
  const channels = new Map(CHANNELS.map((name) => [name, new HttpChannel(name, `${receiver.url}/${name}`)]));
  const log: string[] = [];
  const notifier = new Notifier({
    store,
    channels,
    policy: policyFromConfig(config.notify),
    clock,
    log: (line) => log.push(line),
    random: () => 1,
    ...options,
  });
  return {
    notifier,
    clock,
    receiver,
    store,
    dir,
    log,
    got: (channel) => receiver.at(`/${channel}`).map((r) => r.body as never),
    records: async () => (await notifier.outbox.all()).map((r) => r.record),
    cleanup: async () => {
      await receiver.stop();
      await cleanup();
    },
  };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

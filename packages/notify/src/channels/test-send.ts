import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Channel, Delivery, Notification } from '../channel.js';

/** What `drkit notify test CHANNEL` sends: a P4 notification that names the channel and the sending host. */
export function testNotification(channelName: string, now: Date = new Date()): Notification {
  return {
    idempotencyKey: `test-${channelName}-${now.getTime().toString(36)}-${randomBytes(3).toString('hex')}`,
    kind: 'test',
    severity: 'P4',
    title: `drkit test notification for channel "${channelName}"`,
    text: `If you can read this, drkit can reach you through the channel "${channelName}". Sent ${now.toISOString()} from ${hostname()}.`,
    incidents: [],
  };
}

/** Sends a test notification through one channel, at once (not through the outbox), and says how it went. */
export async function sendTestNotification(channel: Channel, options: { signal?: AbortSignal; now?: Date } = {}): Promise<{ notification: Notification; delivery: Delivery }> {
  const notification = testNotification(channel.name, options.now);
  const delivery = await channel.send(notification, options.signal ? { signal: options.signal } : {});
  return { notification, delivery };
}

import { describe, expect, it } from 'vitest';
import { ConfigErrorCode, parseConfigText } from '@drkit/config';

const BASE =
  `
sources: [{ name: data, type: files, path: /srv/data }]
failover:
  primary: { probes: [{ type: http, url: "http://primary:3000/health", interval: 10s, timeout: 2s }] }
  standby: { probes: [{ type: http, url: "http://standby:3000/health" }] }
  triggers: { unreachable_for: 5m, error_rate: 10%, error_window: 10m, min_samples: 20 }
  lease: { backend: etcd, endpoints: ["127.0.0.1:2379"], ttl: 15s }
  cooldown: 1h
  steps:
    - activate: { command: "systemctl start app@standby" }
    - restore:  { sources: [data, config], snapshot: latest:clean, target: { data: /srv/standby/data, config: ` +
  `/srv/standby/config } }
    - dns:      { webhook: "https://dns-hook.internal/switch" }
    - verify:   { for: 2m }
`;

/** The message of the config error `text` gives (with its key paths). */
function errorOf(text: string): string {
  try {
    parseConfigText(text, 'drkit.config.yaml', {});
  } catch (error) {
    expect((error as { code: string }).code).toBe(ConfigErrorCode.INVALID);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('failover config', () => {
  it("accepts the issue's example, with defaults for the rest", () => {
    const failover = parseConfigText(BASE, 'drkit.config.yaml', {}).failover!;
    expect(failover).toMatchObject({
      site: 'default',
      quorum: 1,
      max_per_day: 1,
      triggers: { recover_below: '5%', recover_for: '5m' },
      lease: { backend: 'etcd', ttl: '15s' },
    });
    expect(failover.steps).toHaveLength(4);
  });

  it('refuses a negative window, a quorum larger than the monitors listed and an unknown step, naming each key', () => {
    expect(errorOf(BASE.replace('error_window: 10m', 'error_window: -10m'))).toContain(
      'failover.triggers.error_window: expected a positive duration like 10m, got "-10m"',
    );
    expect(errorOf(BASE.replace('cooldown: 1h', 'cooldown: 1h\n  monitors: [eu, us]\n  quorum: 3'))).toContain(
      'failover.quorum: quorum 3 is more than the 2 monitor(s) listed',
    );
    expect(errorOf(BASE.replace('    - verify:   { for: 2m }', '    - reboot:   { command: reboot }'))).toContain(
      'failover.steps[3].reboot: unknown step "reboot". Fix: use one of activate, restore, dns, verify.',
    );
    expect(errorOf(BASE.replace('{ for: 2m }', '{ for: 0s }'))).toContain(
      'failover.steps[3].verify.for: expected a positive duration',
    );
    expect(errorOf(BASE.replace('{ webhook: "https://dns-hook.internal/switch" }', '{ }'))).toContain(
      'failover.steps[2].dns: needs exactly one of command or webhook',
    );
    expect(errorOf(BASE.replace('backend: etcd', 'backend: zookeeper'))).toContain(
      'failover.lease.backend: expected one of file, redis, etcd, got "zookeeper"',
    );
  });
});

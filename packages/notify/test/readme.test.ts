// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '@drkit/config';
import { policyFromConfig } from '@drkit/notify';

const ENV = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x',
  SMTP_PASSWORD: 'pw',
  PD_ROUTING_KEY: 'rk',
  TWILIO_ACCOUNT_SID: 'AC1',
  TWILIO_TOKEN: 'tt',
  HOOK_TOKEN: 'ht',
};

describe('the README', () => {
  it('"Tell people" has a config that works as pasted', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Tell people'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parseConfigText(
      `sources: [{ name: data, type: files, path: ./data }]\n${yaml}`,
      '/srv/app/drkit.config.yaml',
      ENV,
    );
    expect(Object.keys(config.notify!.channels)).toEqual(['ops-slack', 'ops-email', 'pager', 'phone', 'boss', 'hook']);
    const policy = policyFromConfig(config.notify);
    expect(policy.routes.P1[0]).toMatchObject({
      channels: ['phone', 'pager', 'ops-email', 'ops-slack'],
      withinMs: 0,
      repeatEveryMs: 15 * 60_000,
      escalate: [{ afterMs: 30 * 60_000, channels: ['boss'] }],
    });
    expect(policy.routes.P2.map((r) => r.match)).toEqual([{ component: ['database'] }, undefined]);
    expect([policy.routes.P3[0]!.digest, policy.routes.P4[0]!.digest]).toEqual([true, true]);
    expect(config.contacts?.map((c) => c.role)).toEqual(['devops-lead', 'cto']);
  });
});

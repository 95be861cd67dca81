import type { Notifier, Severity } from '@drkit/notify';
import * as z from 'zod';

/** Alertmanager's webhook payload, version 4 (the fields drkit reads; others are ignored). */
export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string().optional(),
        endsAt: z.string().optional(),
        generatorURL: z.string().optional(),
        fingerprint: z.string().regex(/^[0-9a-zA-Z]{1,64}$/),
      }),
    )
    .min(1),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;

const BY_SEVERITY_LABEL: Record<string, Severity> = { critical: 'P1', error: 'P2', warning: 'P3', info: 'P4' };

/** The incident severity of an alert: `drkit_priority` (P1…P4) when given, else from `severity`, else P3. */
export function alertSeverity(labels: Record<string, string>): Severity {
  const explicit = labels.drkit_priority?.toUpperCase();
  if (explicit === 'P1' || explicit === 'P2' || explicit === 'P3' || explicit === 'P4') return explicit;
  return BY_SEVERITY_LABEL[labels.severity?.toLowerCase() ?? ''] ?? 'P3';
}

/** Why a payload is refused (for the 400 body), or the parsed payload. */
export function parseAlertmanager(body: string): AlertmanagerPayload | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  const parsed = alertmanagerPayloadSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  return (
    `${issue.path.join('.') || 'the payload'}: ${issue.message} (expected Alertmanager's webhook payload, ` +
    `version 4)`
  );
}

/**
 * One incident per alert fingerprint: opened while firing (updated when its text changes), resolved
 * when Alertmanager says resolved. Returns what happened to each alert.
 */
export async function intakeAlerts(
  notifier: Notifier,
  payload: AlertmanagerPayload,
): Promise<{ fingerprint: string; action: string }[]> {
  const out: { fingerprint: string; action: string }[] = [];
  for (const alert of payload.alerts) {
    const name = alert.labels.alertname ?? 'alert';
    const text = alert.annotations.description ?? alert.annotations.summary ?? `${name} is ${alert.status}.`;
    const result = await notifier.report({
      by: 'alertmanager',
      severity: alertSeverity(alert.labels),
      title: alert.annotations.summary ? `${name}: ${alert.annotations.summary}` : name,
      message: alert.status === 'resolved' ? `Resolved in Alertmanager: ${text}` : text,
      dedupKey: `alertmanager:${alert.fingerprint}`,
      labels: {
        alertname: name,
        fingerprint: alert.fingerprint,
        ...Object.fromEntries(
          Object.entries(alert.labels).filter(([k]) => k === 'component' || k === 'instance' || k === 'job'),
        ),
      },
      components: alert.labels.component ? [alert.labels.component] : [],
      resolve: alert.status === 'resolved',
    });
    out.push({ fingerprint: alert.fingerprint, action: result.action });
  }
  return out;
}

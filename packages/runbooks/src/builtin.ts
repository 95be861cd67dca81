import { parseRunbookText, type RunbookConfig } from '@drkit/config';
import cloudOutage from '../runbooks/cloud-outage.yaml';
import dataLoss from '../runbooks/data-loss.yaml';
import databaseCorruption from '../runbooks/database-corruption.yaml';
import securityBreach from '../runbooks/security-breach.yaml';
import serverFailure from '../runbooks/server-failure.yaml';
import { RunbookError, RunbookErrorCode } from './errors.js';

/** The DR plan's five scenarios, as shipped in runbooks/*.yaml (built into the code as text). */
export const BUILTIN_RUNBOOKS: Record<string, string> = {
  'server-failure': serverFailure,
  'database-corruption': databaseCorruption,
  'data-loss': dataLoss,
  'security-breach': securityBreach,
  'cloud-outage': cloudOutage,
};

export interface NamedRunbook {
  name: string;
  origin: 'built-in' | 'config';
  runbook: RunbookConfig;
}

/** Every runbook: the built-in ones, overridden or joined by the config's `runbooks:`. */
export function allRunbooks(configured: Record<string, RunbookConfig> = {}): NamedRunbook[] {
  const out = new Map<string, NamedRunbook>();
  for (const [name, text] of Object.entries(BUILTIN_RUNBOOKS))
    out.set(name, { name, origin: 'built-in', runbook: parseRunbookText(text, `runbooks/${name}.yaml`) });
  for (const [name, runbook] of Object.entries(configured)) out.set(name, { name, origin: 'config', runbook });
  return [...out.values()];
}

export function findRunbook(name: string, configured: Record<string, RunbookConfig> = {}): NamedRunbook {
  const all = allRunbooks(configured);
  const found = all.find((r) => r.name === name);
  if (found) return found;
  throw new RunbookError(RunbookErrorCode.NO_SUCH_RUNBOOK, `There is no runbook "${name}".`, {
    hint: `drkit runbook list shows them: ${all.map((r) => r.name).join(', ')}.`,
  });
}

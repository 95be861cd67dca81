/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// DOM types for the functions that run inside the page (page.evaluate).
// These are Playwright locators, whose innerText is the text as rendered, what a reader sees.
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, see above
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '@drkit/storage';
import { startRecordingServer, tempDir } from '@drkit/test-support';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusPage, writeStatusPage } from '../src/index.js';
import { HOSTILE_TITLE, pageInput } from './support/status-page-fixture.js';

// Debian's chromium (scripts/setup.sh installs it), never a browser download.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
/** Where the test leaves its screenshot for a person to look at. */
const SCREENSHOT = path.resolve('.test-results/status-page-phone.png');

/** A phone-sized browser with a fresh profile, page scripts off: the page must need none. */
function browser(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 390, height: 844 },
    javaScriptEnabled: false,
  });
}

describe('status page in a real browser (Debian chromium, no JavaScript, phone-sized)', () => {
  let dir: { dir: string; cleanup: () => Promise<void> };
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash scripts/setup.sh does).`);
    dir = await tempDir('drkit-status-page-');
    await writeStatusPage(new LocalStore(path.join(dir.dir, 'site')), statusPage(pageInput()));
    context = await browser(path.join(dir.dir, 'profile'));
    page = await context.newPage();
    await page.goto(pathToFileURL(path.join(dir.dir, 'site/index.html')).href);
  });

  afterAll(async () => {
    await context?.close();
    await dir?.cleanup();
  });

  it('shows the open incident with its title as text, its state and its public updates', async () => {
    const incident = page.getByRole('article', { name: HOSTILE_TITLE });
    await expect(incident.isVisible()).resolves.toBe(true);
    const text = await incident.innerText();
    expect(text).toContain('Major outage');
    expect(text).toContain('Identified');
    expect(text).toContain('The storage node lost its disk; failing over.');
    expect(text).not.toContain('internal only');
    // The hostile title stayed text: no element came out of it.
    expect(await page.locator('main script, main img').count()).toBe(0);
  });

  it('names its icon inline, so a browser fed the page over HTTP asks for nothing else (no favicon 404)', async () => {
    const html = await readFile(path.join(dir.dir, 'site/index.html'), 'utf8');
    const server = await startRecordingServer({
      answer: (r) =>
        r.path === '/' ? { headers: { 'content-type': 'text/html; charset=utf-8' }, body: html } : { status: 404 },
    });
    try {
      const tab = await context.newPage();
      await tab.goto(`${server.url}/`);
      // Without an icon link Chromium asks for /favicon.ico once the page has loaded, and the server logs a 404.
      const icon = await tab.evaluate(() => document.querySelector('link[rel~="icon"]')?.getAttribute('href'));
      expect(icon).toMatch(/^data:/);
      await tab.close();
      expect(server.requests.map((r) => r.path)).toEqual(['/']);
    } finally {
      await server.stop();
    }
  });

  it("shows each component's state in words", async () => {
    const components = page.getByRole('region', { name: 'Components' });
    const state = async (name: string) =>
      (
        await components
          .getByRole('listitem')
          .filter({ has: page.getByRole('heading', { name, exact: true }) })
          .innerText()
      ).split('\n');
    expect(await state('api')).toContain('✕ Major outage since 2026-03-10 11:13 UTC');
    expect(await state('storage')).toContain('✕ Major outage since 2026-03-10 11:13 UTC');
    expect(await state('web')).toContain('⚙ Under maintenance since 2026-03-10 11:30 UTC');
    expect((await state('storage')).join(' ')).toContain('99.89 % uptime over the last 90 days');
  });

  it('shows the stale marker', async () => {
    const stale = page.getByRole('region', { name: 'This page may be out of date' });
    await expect(stale.isVisible()).resolves.toBe(true);
    const text = await stale.innerText();
    expect(text).toContain(HOSTILE_TITLE);
    expect(text).toContain('last update 47 min ago');
    expect(await page.title()).toMatch(/^Out of date: /);
  });

  it(
    'has landmarks and headings, fits a phone without sideways scrolling, and 4.5:1 contrast for all text; ' +
      'screenshot for a person',
    async () => {
      for (const role of ['banner', 'main', 'contentinfo'] as const) expect(await page.getByRole(role).count()).toBe(1);
      expect(await page.getByRole('heading', { level: 1 }).allInnerTexts()).toEqual(['Acme status']);
      expect(await page.getByRole('heading', { level: 2 }).allInnerTexts()).toEqual([
        '⚠ This page may be out of date',
        'Current incidents',
        'Scheduled maintenance',
        'Components',
        'Past incidents (last 14 days)',
      ]);
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      // Page scripts are off; Playwright's own evaluate still measures.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      // Every piece of text has at least 4.5:1 contrast with what is behind it (WCAG AA).
      const low = await page.evaluate(() => {
        const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const lum = ([r, g, b]: number[]) =>
          [r!, g!, b!]
            .map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4))
            .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i]!, 0);
        const background = (el: Element | null): number[] => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || c[3] !== 0) return c;
          }
          return [255, 255, 255];
        };
        const out: string[] = [];
        for (const el of document.body.querySelectorAll('*')) {
          const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '');
          if (!own || (el as HTMLElement).offsetParent === null) continue;
          const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          if (ratio < 4.5)
            out.push(`${el.tagName}.${el.className} "${el.textContent!.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
        }
        return out;
      });
      expect(low).toEqual([]);
    },
  );
});

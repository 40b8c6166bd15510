/**
 * Debian's chromium driven by playwright-core against the lab server, for the browser tests. No browser is
 * downloaded: the tests skip, saying why, only where /usr/bin/chromium (or CONVEYOR_CHROMIUM) is absent.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLabServer, type LabServer } from '../../src/cli/lab-server.js';

export const chromiumPath = process.env.CONVEYOR_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function missingBrowser(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  return `no chromium at ${chromiumPath}: install Debian's package (apt-get install -y chromium; .ci/run does) or set CONVEYOR_CHROMIUM`;
}

/** Flags for a headless run on a machine whose network is closed: nothing reaches out, nothing is sandboxed away from root. */
const chromiumFlags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export interface Lab {
  readonly server: LabServer;
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** A lab server on a free loopback port and a fresh chromium profile with the page open at `hash`. */
export async function openLab(hash = ''): Promise<Lab> {
  const server = await startLabServer({ port: 0 });
  const profile = mkdtempSync(join(tmpdir(), 'conveyor-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumFlags,
      viewport: { width: 1360, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}${hash}`);
    const opened = context;
    return {
      server,
      context: opened,
      page,
      close: async () => {
        await opened.close();
        await server.close();
        rmSync(profile, { recursive: true, force: true });
        if (problems.length > 0) throw new Error(`the page threw: ${problems.join('; ')}`);
      },
    };
  } catch (error) {
    await context?.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}

/**
 * One lab for the whole test file, opened before its tests and closed after them, unless the browser is
 * missing; the returned function gives the open lab inside a test.
 */
export function labPerFile(hash: string, skip: string | undefined): () => Lab {
  let lab: Lab | undefined;
  before(async () => {
    if (!skip) lab = await openLab(hash);
  });
  after(async () => {
    await lab?.close();
  });
  return () => lab!;
}

/** Saves a screenshot where CONVEYOR_SCREENSHOTS points (npm run screenshots: docs/images); otherwise nothing. */
export async function screenshot(page: Page, name: string, target?: Parameters<Page['screenshot']>[0]): Promise<void> {
  const folder = process.env.CONVEYOR_SCREENSHOTS;
  if (folder === undefined) return;
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `${name}.png`), ...target });
}

import { type Browser, chromium } from 'playwright-core';
import { DEFAULT_SIMULATE_OPTIONS, simulateFleet } from '@minerhaul/fleet';
import { requireTool } from '../../../test/support/require-tool';
import { ADMIN_TOKEN, type TestFleet, startTestFleet } from '../fleet-harness';

// Flags for a root-run, offline machine (the brief's recipe); nothing may leave 127.0.0.1.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The test tsconfig has no DOM lib: the few browser globals used inside page.evaluate, typed here.
interface ChartLike {
  config: { type: string };
  data: { datasets: Array<{ label: string; data: number[] }> };
}
interface PageGlobals {
  Chart: { getChart(id: string): ChartLike | undefined };
  document: {
    getElementById(id: string): {
      width: number;
      height: number;
      getContext(
        kind: '2d',
      ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
    };
  };
}

interface ChartSummary {
  type: string;
  labels: string[];
  lastTotal: number;
  points: number;
}

describe('fleet dashboard in headless Chromium', () => {
  let f: TestFleet;
  let browser: Browser;
  const DEVICES = 40;

  beforeAll(async () => {
    const executablePath = requireTool('chromium');
    // One-second buckets so a few seconds of simulation draw a curve.
    f = await startTestFleet({ bucketSeconds: 1, seriesPoints: 60 });
    const sim = await simulateFleet({
      ...DEFAULT_SIMULATE_OPTIONS,
      url: f.url,
      devices: DEVICES,
      durationSeconds: 4,
      ratePerSecond: 60,
      concurrency: 8,
      silentShare: 0,
    });
    expect(sim.refused + sim.failed).toBe(0);
    expect(sim.accepted).toBeGreaterThan(DEVICES);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it('refuses the dashboard without the token and with a wrong one', async () => {
    const page = await browser.newPage();
    try {
      const res = await page.goto(`${f.url}/`);
      expect(res?.status()).toBe(401);
      expect(await page.locator('#adoption-chart').count()).toBe(0);
      await page.fill('#token', 'not-the-admin-token');
      await page.click('#login');
      await page.waitForSelector('.error');
      expect(await page.locator('#adoption-chart').count()).toBe(0);
      const data = await page.evaluate(async () => (await fetch('/v1/adoption')).status);
      expect(data).toBe(401);
    } finally {
      await page.close();
    }
  });

  it('shows the adoption chart with the simulated data after logging in', async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(f.url)) foreign.push(r.url());
    });
    try {
      await page.goto(`${f.url}/login`);
      await page.fill('#token', ADMIN_TOKEN);
      await page.click('#login');
      await page.waitForSelector('body[data-rendered]', { timeout: 15_000 });
      expect(await page.textContent('#t-devices')).toBe(String(DEVICES));
      const chart = await page.evaluate((): ChartSummary | null => {
        // Inline casts only: this function runs in the page, closures do not travel.
        const w = globalThis as unknown as PageGlobals;
        const c = w.Chart.getChart('adoption-chart');
        if (c === undefined) return null;
        const sets = c.data.datasets;
        return {
          type: c.config.type,
          labels: sets.map((s) => s.label),
          lastTotal: sets.reduce((n, s) => n + (s.data.at(-1) ?? 0), 0),
          points: sets[0]?.data.length ?? 0,
        };
      });
      expect(chart).not.toBeNull();
      expect(chart?.type).toBe('line');
      // The simulated fleet starts on 1.0.0, moves to 1.1.0 and has a community build.
      expect(chart?.labels).toEqual(expect.arrayContaining(['1.0.0', '1.1.0', '1.1.0-community']));
      expect(chart?.lastTotal).toBe(DEVICES);
      expect(chart?.points).toBe(60);
      // The canvas was really drawn on: some pixel is not transparent.
      const painted = await page.evaluate(() => {
        const canvas = (globalThis as unknown as PageGlobals).document.getElementById('adoption-chart');
        const px = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
        for (let i = 3; i < px.length; i += 4) if ((px[i] ?? 0) !== 0) return true;
        return false;
      });
      expect(painted).toBe(true);
      const share = await page.evaluate(() => {
        const w = globalThis as unknown as PageGlobals;
        return w.Chart.getChart('source-chart')?.data.datasets[0]?.data;
      });
      expect(share?.reduce((a, b) => a + b, 0)).toBe(DEVICES);
      expect(share?.[1]).toBeGreaterThan(0);
      expect(foreign).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

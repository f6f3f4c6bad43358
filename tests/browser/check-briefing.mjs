// Opens a rentree briefing page from disk in Debian's headless Chromium with every network request
// blocked, and fails on a console error, a page error, any request that is not file://, a chart with no
// drawn data, or a missing summary sentence. Takes a screenshot of the whole page.
//
// Usage: node check-briefing.mjs PAGE.html SCREENSHOT.png "sentence fragment" ["another" ...]
import { chromium } from 'playwright-core';

const [page_path, screenshot, ...sentences] = process.argv.slice(2);
if (!page_path || !screenshot) {
  console.error('usage: node check-briefing.mjs PAGE.html SCREENSHOT.png [sentence ...]');
  process.exit(2);
}
const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
  // Networking off: anything but the file itself is aborted and reported.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    problems.push(`network request: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto('file://' + page_path, { waitUntil: 'load' });
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.plotly-graph-div')).every((d) => d._fullLayout), null, { timeout: 30000 })
    .catch(() => problems.push('charts did not finish drawing in 30 s'));
  const charts = await page.evaluate(() => Array.from(document.querySelectorAll('.plotly-graph-div')).map((gd) => {
    const points = (gd.data || []).reduce((n, t) => n + ((t.x && t.x.length) || 0), 0);
    const drawn = gd.querySelectorAll('.main-svg .scatterlayer .trace path, .main-svg .barlayer .trace path, .main-svg .point').length;
    return { id: gd.id, traces: (gd.data || []).length, points, drawn };
  }));
  if (charts.length === 0) problems.push('no chart on the page');
  for (const c of charts) {
    if (c.traces === 0 || c.points === 0 || c.drawn === 0) problems.push(`chart ${c.id} has no drawn data (${JSON.stringify(c)})`);
  }
  const text = await page.evaluate(() => document.getElementById('summary')?.innerText || '');
  for (const s of sentences) {
    if (!text.includes(s)) problems.push(`summary lacks "${s}"`);
  }
  // Every briefing states the scale its figures come from (the test's runs are below the replay's faithful
  // scale, so it must be the highlighted warning, and on screen).
  const scale = await page.evaluate(() => {
    const p = document.getElementById('scale');
    if (!p) return null;
    const r = p.getBoundingClientRect();
    return { text: p.innerText, warning: p.classList.contains('warning'), visible: r.width > 0 && r.height > 0 };
  });
  if (!scale || !scale.text) problems.push('no scale paragraph (#scale)');
  else if (!scale.warning || !scale.visible) problems.push(`the scale paragraph is not a visible warning: ${JSON.stringify(scale)}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`${page_path}: ${charts.length} charts (${charts.map((c) => `${c.id}: ${c.points} points`).join(', ')})`);
} finally {
  await browser.close();
}
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}

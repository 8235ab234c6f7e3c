// Drives Debian's chromium over a synack HTML report, opened from disk, and
// checks what a reader does with it. Run by tests/report.rs, which builds
// the report and works out from `synack read --json` what the page must show:
//   node check.mjs EXPECT.json
// EXPECT: { report, screenshot, mode: "full" | "load", rows, ... } (see below);
// `words` gives the page's wording of what is checked by its text (the step
// position, the packet's frame, the row count) in the report's language,
// and for a Chinese report `lang` and `forbidden`: the English words of the
// page's own texts, none of which may be seen.
// Exit 0 when every check passed; each failure is printed.
import puppeteer from 'puppeteer-core';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const expect = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
const words = expect.words;
const say = (text, args) => text.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));
// What a reader sees: the page's text, its SVG pictures' texts, the title,
// the options of the filters and the placeholder.
const seen = () => [document.title, document.body.innerText,
  ...[...document.querySelectorAll('svg text, svg title, option')].map(e => e.textContent),
  ...[...document.querySelectorAll('input[placeholder]')].map(e => e.placeholder)].join('\n');
// English words of the page's own texts in what a reader sees; addresses,
// file paths, options and the command a reader is told to run are data.
async function english(page, when) {
  if (!expect.forbidden) return;
  const text = await page.evaluate(seen);
  const bad = new Set(expect.forbidden);
  const found = new Set();
  for (const token of text.replace(/synack read [^\n]*/g, ' ').split(/\s+/)) {
    if (token.includes('/') || token.includes('.pcap') || token.startsWith('-') || /^\[?[0-9a-f:.]+\]?(:\d+)?[,，。）)]*$/i.test(token)) continue;
    for (const w of token.split(/[^A-Za-z]+/)) if (bad.has(w)) found.add(w);
  }
  check(found.size === 0, `${when}: English on the Chinese page: ${[...found].join(' ')}`);
}

const profile = mkdtempSync(join(tmpdir(), 'synack-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`],
  userDataDir: profile,
  defaultViewport: { width: 1400, height: 1000 },
  timeout: 30000,
});
// The whole check is bounded: a hung page fails, it does not hang the tests.
const deadline = setTimeout(() => { console.log('TIMEOUT: the browser check took over 60 s'); process.exit(1); }, 60000);

try {
  const page = await browser.newPage();
  const consoleErrors = [];
  const outside = [];
  page.on('console', m => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', e => consoleErrors.push(String(e)));
  page.on('request', r => { if (!/^(file|data|about):/.test(r.url())) outside.push(r.url()); });
  await page.goto('file://' + expect.report, { waitUntil: 'load', timeout: 30000 });
  await page.waitForFunction('window.synackReady !== undefined', { timeout: 30000 });
  const ready = await page.evaluate('window.synackReady');
  if (expect.lang) {
    const lang = await page.evaluate(() => document.documentElement.lang);
    check(lang === expect.lang, `<html lang="${lang}">, expected ${expect.lang}`);
  }
  await english(page, 'the page as it opens');
  console.log(`report ready ${ready.toFixed(0)} ms after navigation`);
  const rowCount = () => page.$$eval('#conns tbody tr', trs => trs.length);
  const shownIds = () => page.$$eval('#conns tbody tr', trs => trs.map(t => Number(t.dataset.id)));

  if (expect.mode === 'load') {
    check(ready < expect.max_ms, `the report took ${ready.toFixed(0)} ms to be ready (limit ${expect.max_ms} ms)`);
    const count = await page.$eval('#count', e => e.textContent);
    check(count === say(words.count, { shown: expect.rows, total: expect.rows }), `count says "${count}"`);
    check(await rowCount() === Math.min(expect.rows, 250), `first page has ${await rowCount()} rows`);
    const details = await page.$$eval('script[id^="d-"]', s => s.length);
    check(details === expect.details, `${details} connections have details, expected ${expect.details}`);
  } else {
    // One row per connection, in id order.
    const ids = await shownIds();
    check(JSON.stringify(ids) === JSON.stringify(expect.ids), `rows ${JSON.stringify(ids)}, expected ${JSON.stringify(expect.ids)}`);

    // Filter by address.
    await page.type('#f-addr', expect.addr.text);
    check(JSON.stringify(await shownIds()) === JSON.stringify(expect.addr.ids),
      `address filter "${expect.addr.text}" shows ${JSON.stringify(await shownIds())}, expected ${JSON.stringify(expect.addr.ids)}`);
    await page.$eval('#f-addr', e => { e.value = ''; e.dispatchEvent(new Event('input')); });
    check(await rowCount() === expect.ids.length, 'clearing the address filter brings every row back');
    // Filter by close kind, TIME_WAIT holder, retransmissions.
    for (const [sel, value, want] of [['#f-close', expect.close.value, expect.close.ids], ['#f-tw', expect.tw.value, expect.tw.ids]]) {
      await page.select(sel, value);
      const got = await shownIds();
      check(JSON.stringify(got) === JSON.stringify(want), `${sel}=${value} shows ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      await page.select(sel, '');
    }
    await page.click('#f-rt');
    check(JSON.stringify(await shownIds()) === JSON.stringify(expect.retrans_ids),
      `with retransmissions shows ${JSON.stringify(await shownIds())}, expected ${JSON.stringify(expect.retrans_ids)}`);
    await page.click('#f-rt');

    // Sorting: retransmissions, most first (a second click reverses).
    await page.click('th[data-k="retrans"]');
    await page.click('th[data-k="retrans"]');
    const byRetrans = await shownIds();
    check(byRetrans[0] === expect.most_retrans, `sorted by retransmissions (descending), the first row is #${byRetrans[0]}, expected #${expect.most_retrans}`);
    await page.click('th[data-k="client"]');
    const clients = await page.$$eval('#conns tbody tr td:nth-child(2)', tds => tds.map(t => t.textContent));
    check(clients.every((c, i) => i === 0 || clients[i - 1].localeCompare(c) <= 0), `sorted by client: ${clients.join(', ')}`);
    await page.click('th[data-k="id"]');

    // Click a connection: its ladder shows.
    await page.click(`#conns tbody tr[data-id="${expect.conn}"]`);
    const ladderConn = await page.$eval('#d-ladder svg.ladder', s => s.dataset.conn).catch(() => null);
    check(ladderConn === String(expect.conn), `clicking #${expect.conn} shows ladder ${ladderConn}`);
    const visible = await page.$eval('#detail', d => !d.hidden && d.getBoundingClientRect().height > 100);
    check(visible, 'the detail section is visible');
    const graphs = await page.$$eval('#d-graphs svg.graph', s => s.length);
    check(graphs >= 1, `the connection's graphs show (${graphs})`);

    // Step with the arrow key: the highlighted arrow and both sides' states follow.
    const steps = expect.steps;
    let packetSteps = 0;
    for (let k = 0; k < steps.length; k++) {
      if (k > 0) await page.keyboard.press('ArrowRight');
      const s = await page.evaluate(() => ({
        pos: document.getElementById('step-pos').textContent,
        client: document.getElementById('st-client').textContent,
        server: document.getElementById('st-server').textContent,
        packet: document.getElementById('st-packet').textContent,
        cur: [...document.querySelectorAll('#d-ladder g.row.cur')].map(g => [g.dataset.step, g.dataset.frame || null]),
        notes: document.getElementById('st-notes').textContent,
      }));
      const want = steps[k];
      check(s.pos.startsWith(say(words.step, { k: k + 1, n: steps.length })), `step ${k}: position "${s.pos}"`);
      check(s.cur.length === 1 && s.cur[0][0] === String(k), `step ${k}: highlighted rows ${JSON.stringify(s.cur)}`);
      if (want.frame !== null) {
        packetSteps++;
        check(s.cur[0] && s.cur[0][1] === String(want.frame), `step ${k}: highlighted frame ${JSON.stringify(s.cur)}, expected ${want.frame}`);
        check(s.packet.includes(say(words.frame, { f: want.frame })), `step ${k}: packet "${s.packet}", expected frame ${want.frame}`);
        check(s.client === want.client, `frame ${want.frame}: client "${s.client}", expected "${want.client}"`);
        check(s.server === want.server, `frame ${want.frame}: server "${s.server}", expected "${want.server}"`);
        for (const n of want.notes) check(s.notes.includes(n), `frame ${want.frame}: note "${n}" missing from "${s.notes}"`);
      }
      if (k === expect.screenshot_step) {
        await english(page, `a connection open at step ${k}`);
        await page.evaluate(() => document.querySelector('#d-ladder g.row.cur').scrollIntoView({ block: 'center' }));
        await new Promise(r => setTimeout(r, 100));
        await page.screenshot({ path: expect.screenshot });
      }
    }
    check(packetSteps === expect.packets, `${packetSteps} packet steps, expected ${expect.packets}`);
    await page.keyboard.press('ArrowLeft');
    const back = await page.$eval('#step-pos', e => e.textContent);
    check(back.startsWith(say(words.step, { k: steps.length - 1, n: steps.length })), `ArrowLeft goes back: "${back}"`);
    // A connection without details says how to draw it.
    if (expect.no_details !== null) {
      await page.click(`#conns tbody tr[data-id="${expect.no_details}"]`);
      const msg = await page.$eval('#d-none', e => e.hidden ? '' : e.textContent);
      check(msg.includes(`--conn ${expect.no_details}`), `a connection without details says how to draw it: "${msg}"`);
      await english(page, 'a connection without details');
    }
    // Every filter option and a filtered, re-sorted table, in the report's language too.
    await page.select('#f-close', expect.close.value);
    await page.click('#f-rt');
    await english(page, 'filtered');
  }
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
  check(outside.length === 0, `requests beyond the file: ${outside.join(' ')}`);
} catch (e) {
  failures.push(`the check itself failed: ${e.stack || e}`);
} finally {
  clearTimeout(deadline);
  await browser.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
for (const f of failures) console.log('FAIL:', f);
console.log(failures.length ? `${failures.length} checks failed` : 'browser checks passed');
process.exit(failures.length ? 1 : 0);

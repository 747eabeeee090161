// The execution page under a flood: an agent streams 10,000 lines a second
// for 10 s into an open detail page in Debian's Chromium (agented serve, the
// built renderer, a real SSE stream). Measured in the page: the longest
// main-thread task (PerformanceObserver "longtask") and the share of frames
// dropped (requestAnimationFrame gaps), against the same page idle in the
// same run; then the page's JS heap and DOM size once 100,000 lines are in.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startProcess, withTempDir } from './processes.mjs';

const KEY = 'bench-key-0123456789abcdefghijklmnop';
const RATE = Number(process.env.BENCH_RENDERER_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_RENDERER_SECONDS ?? 10);
const CHROMIUM = process.env.AGENTED_TEST_CHROMIUM ?? '/usr/bin/chromium';
const FRAME_MS = 1000 / 60;

/** Installed before the page's own scripts: long tasks and frame times from the first moment. */
function instrument() {
  const probe = { longTasks: [], frames: [], recording: false };
  globalThis.__bench = probe;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (probe.recording) probe.longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: false });
  const frame = (time) => {
    if (probe.recording) probe.frames.push(time);
    globalThis.requestAnimationFrame(frame);
  };
  globalThis.requestAnimationFrame(frame);
}

const record = (page, on) => page.evaluate((value) => (globalThis.__bench.recording = value), on);
const collect = (page) => page.evaluate(() => ({ longTasks: globalThis.__bench.longTasks.splice(0), frames: globalThis.__bench.frames.splice(0) }));

/** Frames that should have been drawn in the recorded span but were not, as a share of them. */
function frameStats({ longTasks, frames }) {
  let dropped = 0;
  let worstGap = 0;
  for (let index = 1; index < frames.length; index++) {
    const gap = frames[index] - frames[index - 1];
    worstGap = Math.max(worstGap, gap);
    dropped += Math.max(0, Math.round(gap / FRAME_MS) - 1);
  }
  const expected = frames.length - 1 + dropped;
  return {
    frames: frames.length,
    droppedShare: expected > 0 ? Number((dropped / expected).toFixed(4)) : null,
    worstFrameGapMs: Math.round(worstGap),
    longTasks: longTasks.length,
    longestTaskMs: Math.round(Math.max(0, ...longTasks)),
  };
}

async function api(url, method, route, body) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return response.json();
}

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const renderer = {
  name: 'renderer',
  async run() {
    return withTempDir(async (temp) => {
      const agent = path.join(temp, 'paced-flood-agent');
      const script = fileURLToPath(new URL('fixtures/paced-flood-agent.mjs', import.meta.url));
      fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${script}"\n`, { mode: 0o755 });
      // BENCH_AGENTED_DIST: another build (a folder with main/cli.js and renderer/), to compare two builds turn about.
      const server = await startProcess([path.join(process.env.BENCH_AGENTED_DIST ?? 'dist', 'main', 'cli.js'), 'serve', '--port', '0'], {
        HOME: temp, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: `${temp}/data`, AGENTED_LOG_DIR: `${temp}/logs`, AGENTED_LOG_STDOUT: '0',
        AGENTED_CLAUDE_PATH: agent, FLOOD_RATE: String(RATE), FLOOD_SECONDS: String(SECONDS), FLOOD_DELAY_MS: '5000',
      });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--enable-precise-memory-info'],
      });
      try {
        const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
        await context.addInitScript(instrument);
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send('Performance.enable');
        const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((metric) => [metric.name, metric.value]));
        // CPU time of the renderer processes (the page's main thread and its helpers): what the page cost,
        // whatever else the machine was doing — wall-clock figures swing with the load, this does not.
        const browserCdp = await browser.newBrowserCDPSession();
        const rendererCpuSeconds = async () =>
          (await browserCdp.send('SystemInfo.getProcessInfo')).processInfo.filter((info) => info.type === 'renderer').reduce((sum, info) => sum + info.cpuTime, 0);

        // A session cookie for the browser, as the login page gets one: the key once, as a Bearer header.
        const session = await page.request.post(`${server.url}/api/session`, { headers: { authorization: `Bearer ${KEY}` } });
        if (!session.ok()) throw new Error(`no session: ${session.status()}`);

        const trigger = await api(server.url, 'POST', '/api/triggers', { name: 'flood', kind: 'manual', promptTemplate: 'flood', timeoutSeconds: 600 });
        // The page opens on the execution while the agent waits to start: that quiet spell is the baseline.
        const { executionId } = await api(server.url, 'POST', `/api/triggers/${trigger.id}/run`, { params: {} });
        await page.goto(`${server.url}/executions/${executionId}`);
        await page.getByTestId('log-viewport').waitFor();
        await page.waitForTimeout(500);
        await record(page, true);
        await page.waitForTimeout(2_500);
        await record(page, false);
        const idle = frameStats(await collect(page));

        const lineCount = async () => Number(((await page.getByTestId('line-count').textContent()) ?? '0').replace(/\D/g, ''));
        await waitFor(async () => (await lineCount()) > 10, 20_000, 'the first lines');
        const started = Date.now();
        const before = await metrics();
        const cpuBefore = await rendererCpuSeconds();
        await record(page, true);
        await waitFor(async () => (await page.getByTestId('stream-state').textContent())?.includes('complete'), SECONDS * 1_000 + 120_000, 'the end of the stream');
        await record(page, false);
        const streamedMs = Date.now() - started;
        const during = await metrics();
        const rendererCpu = (await rendererCpuSeconds()) - cpuBefore;
        const flood = frameStats(await collect(page));
        const lines = await lineCount();
        const rows = await page.getByTestId('log-row').count();

        // Memory once everything is in (after a GC), and the page still answering.
        await cdp.send('HeapProfiler.collectGarbage');
        const after = await metrics();
        const clickStarted = Date.now();
        await page.getByTestId('view-raw').click();
        await page.locator('[data-mode="raw"]').waitFor();
        const switchMs = Date.now() - clickStarted;

        const result = {
          name: `execution page in Chromium: ${RATE.toLocaleString('en')} lines/s for ${SECONDS} s (stream-json, every 10th line a tool call), following the end`,
          linesReceived: lines,
          streamedSeconds: Number((streamedMs / 1_000).toFixed(1)),
          achievedLinesPerSecond: Math.round(lines / (streamedMs / 1_000)),
          idle,
          flood,
          longestTaskMs: flood.longestTaskMs,
          droppedFrameShare: flood.droppedShare,
          // Time the page's main thread spent in tasks, as a share of the streaming time.
          mainThreadBusyShare: Number(((during.TaskDuration - before.TaskDuration) / (streamedMs / 1_000)).toFixed(3)),
          rendererCpuSeconds: Number(rendererCpu.toFixed(2)),
          rendererCpuMsPer1000Lines: Number(((rendererCpu * 1_000_000) / lines).toFixed(1)),
          heapUsedMB: Number((after.JSHeapUsedSize / 1_048_576).toFixed(1)),
          domNodes: after.Nodes,
          renderedRows: rows,
          switchToRawViewMs: switchMs,
          target: { longestTaskMs: 50, droppedFrameShare: 0.1, heapUsedMB: 150 },
        };
        console.log(
          `${result.name}: ${lines.toLocaleString('en')} lines in ${result.streamedSeconds} s (${result.achievedLinesPerSecond}/s); longest task ${flood.longestTaskMs} ms (${flood.longTasks} long tasks), dropped frames ${(flood.droppedShare * 100).toFixed(1)}% (idle ${((idle.droppedShare ?? 0) * 100).toFixed(1)}%), worst frame gap ${flood.worstFrameGapMs} ms; main thread busy ${(result.mainThreadBusyShare * 100).toFixed(0)}% of the time; renderer CPU ${result.rendererCpuSeconds} s (${result.rendererCpuMsPer1000Lines} ms per 1,000 lines); JS heap ${result.heapUsedMB} MB, ${after.Nodes} DOM nodes, ${rows} rows drawn; raw view in ${switchMs} ms`,
        );
        return [result];
      } finally {
        await browser.close();
        await server.stop();
      }
    });
  },
};

// The built demo in a real browser (Debian's Chromium, headless): a .pth dropped by the visitor is
// converted and run on the page (onnxruntime-web, WebAssembly in a worker) with the pixels of the
// Node pipeline, and so is an ncnn .param/.bin pair; cancel stops a run; the page on another origin uses a superres server through
// the SDK (CORS), both to run jobs there and to download a catalog model to run here.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upscale, type Image } from '@superres/core';
import { decodeImage, encodeImage } from '@superres/image-io';
import { closeSharedWorkerPool, loadModelFile } from '@superres/models/node';
import { loadConfig, startServer, type RunningServer } from '@superres/server';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { chromiumMissing, CHROMIUM, launchBrowser, type Browser } from './support/browser.js';
import { serveDirectory } from './support/static-server.js';

const demoDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(demoDir, 'dist');
const artifacts = join(demoDir, 'test-results');
const weights = needsFixture('the browser demo', 'weights', 'realesr-animevideov3.pth');
const reason = chromiumMissing
  ? ` (skipped: ${CHROMIUM} not found; pnpm test installs Debian's chromium as root)`
  : !existsSync(join(dist, 'index.html'))
    ? ' (skipped: apps/demo is not built; run pnpm build)'
    : '';
const MODEL = 'realesr-animevideov3';
const KEY = 'demo-test-key';

interface PageResult {
  width: number;
  height: number;
  data: string;
}

/** Largest difference over the colour channels of an RGBA page result and an RGB image. */
function maxColourDifference(result: PageResult, expected: Image): number {
  const rgba = Buffer.from(result.data, 'base64');
  const rgb = expected.data as Uint8Array;
  let worst = 0;
  for (let p = 0; p < expected.width * expected.height; p++) {
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(rgba[p * 4 + c]! - rgb[p * 3 + c]!));
  }
  return worst;
}

describe.skipIf(weights.missing || reason !== '')(`${weights.title}${reason}`, () => {
  let dir: string;
  let server: RunningServer;
  let otherOrigin: Awaited<ReturnType<typeof serveDirectory>>;
  let browser: Browser;
  let expected: Image;
  const babyPath = fixture('images', 'set5', 'LRx4', 'baby.png');
  const weightsPath = fixture('weights', 'realesr-animevideov3.pth');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-demo-'));
    await mkdir(join(dir, 'models'), { recursive: true });
    await mkdir(artifacts, { recursive: true });
    await copyFile(weightsPath, join(dir, 'models', `${MODEL}.pth`));
    otherOrigin = await serveDirectory(dist);
    server = await startServer(
      loadConfig({
        SUPERRES_PORT: '0',
        SUPERRES_DATA_DIR: join(dir, 'data'),
        SUPERRES_MODELS_DIR: join(dir, 'models'),
        SUPERRES_API_KEYS: KEY,
        SUPERRES_DEMO_DIR: dist,
        SUPERRES_CORS_ORIGINS: otherOrigin.url,
        SUPERRES_DEFAULT_MODEL: MODEL,
      }),
      { logger: false },
    );
    browser = await launchBrowser();
    // The Node pipeline's answer for the same image and weights.
    const model = await loadModelFile(weightsPath);
    try {
      expected = await upscale(await decodeImage(await readFile(babyPath)), model);
    } finally {
      await model.release();
    }
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await otherOrigin?.close();
    await closeSharedWorkerPool();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function openDemo(url: string) {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    return { page, errors };
  }

  const resultOf = (page: Awaited<ReturnType<typeof openDemo>>['page']) =>
    page.evaluate(() => {
      const result = (globalThis as unknown as { superresDemo: { state: { result?: ImageData } } }).superresDemo.state.result;
      if (!result) return null;
      let text = '';
      for (let i = 0; i < result.data.length; i += 0x8000) text += String.fromCharCode(...result.data.subarray(i, i + 0x8000));
      return { width: result.width, height: result.height, data: btoa(text) };
    });

  async function waitForResult(page: Awaited<ReturnType<typeof openDemo>>['page']): Promise<PageResult> {
    await page.waitForFunction(
      () => {
        const status = document.getElementById('status')?.textContent ?? '';
        return status.startsWith('Done') || status.startsWith('Failed') || status === 'Cancelled';
      },
      undefined,
      { timeout: 240_000 },
    );
    const status = await page.textContent('#status');
    expect(status).toMatch(/^Done/);
    return (await resultOf(page))!;
  }

  it('converts a dropped .pth on the page and upscales within 1/255 of the Node pipeline', async () => {
    const { page, errors } = await openDemo(`${server.url}/demo/`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.setInputFiles('#image-file', babyPath);
    await page.setInputFiles('#model-file', weightsPath);
    await page.click('#run');
    const result = await waitForResult(page);
    expect([result.width, result.height]).toEqual([expected.width, expected.height]);
    expect(maxColourDifference(result, expected)).toBeLessThanOrEqual(1);
    // Every stage was timed, and the device and threads that ran are shown.
    expect(await page.textContent('#stages')).toMatch(/convert[\s\S]*session[\s\S]*upscale/);
    expect(await page.textContent('#backend')).toMatch(/^Ran on wasm with \d+ thread/);
    expect(await page.getAttribute('#download', 'href')).toMatch(/^blob:/);
    await page.screenshot({ path: join(artifacts, 'demo-browser-mode.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(browser.refused).toEqual([]);
    await page.close();
  }, 300_000);

  it('converts an ncnn .param/.bin pair picked together on the page, within 1/255 of the Node pipeline', async () => {
    const paramPath = fixture('ncnn', 'realesr-animevideov3-x4.param');
    const binPath = fixture('ncnn', 'realesr-animevideov3-x4.bin');
    const model = await loadModelFile(paramPath);
    let fromNcnn: Image;
    try {
      fromNcnn = await upscale(await decodeImage(await readFile(babyPath)), model);
    } finally {
      await model.release();
    }
    const { page, errors } = await openDemo(`${server.url}/demo/`);
    await page.setInputFiles('#image-file', babyPath);
    await page.setInputFiles('#model-file', [binPath, paramPath]);
    expect(await page.textContent('#model-info')).toMatch(/realesr-animevideov3-x4\.param \+ realesr-animevideov3-x4\.bin \(ncnn\)/);
    await page.click('#run');
    const result = await waitForResult(page);
    expect([result.width, result.height]).toEqual([fromNcnn.width, fromNcnn.height]);
    expect(maxColourDifference(result, fromNcnn)).toBeLessThanOrEqual(1);
    expect(await page.textContent('#stages')).toMatch(/ncnn model x4/);
    // A .param alone is refused on the page, before anything runs.
    await page.setInputFiles('#model-file', paramPath);
    expect(await page.textContent('#model-info')).toMatch(/needs its \.bin/);
    expect(await page.isDisabled('#run')).toBe(true);
    expect(errors).toEqual([]);
    expect(browser.refused).toEqual([]);
    await page.close();
  }, 300_000);

  it('cancels a run between tiles, and the next run works', async () => {
    const { page } = await openDemo(`${server.url}/demo/`);
    // 512x512 in 64-pixel tiles: 64 tiles, time enough to cancel after the first.
    const noise = new Uint8Array(512 * 512 * 3).map((_, i) => (i * 2654435761) >>> 24);
    const big = await encodeImage({ width: 512, height: 512, channels: 3, bitDepth: 8, data: noise }, { format: 'png' });
    await page.setInputFiles('#image-file', { name: 'noise.png', mimeType: 'image/png', buffer: Buffer.from(big) });
    await page.setInputFiles('#model-file', weightsPath);
    await page.selectOption('#tile', '64');
    await page.click('#run');
    await page.waitForFunction(() => /^Tile \d+ of 64/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 240_000 });
    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Cancelled', undefined, { timeout: 120_000 });
    expect(await resultOf(page)).toBeNull();
    expect(await page.isEnabled('#run')).toBe(true);
    // The worker is still usable.
    await page.setInputFiles('#image-file', babyPath);
    await page.selectOption('#tile', 'auto');
    await page.click('#run');
    const result = await waitForResult(page);
    expect(maxColourDifference(result, expected)).toBeLessThanOrEqual(1);
    await page.close();
  }, 300_000);

  it('from another origin: runs the job on the server through the SDK, and runs a downloaded catalog model on the page (CORS)', async () => {
    const { page, errors } = await openDemo(`${otherOrigin.url}/?server=${encodeURIComponent(server.url)}`);
    await page.fill('#api-key', KEY);
    await page.dispatchEvent('#api-key', 'change');
    await page.check('input[name=mode][value=server]');
    await page.waitForSelector(`#model-select option[value="${MODEL}"]:not([disabled])`, { state: 'attached' });
    await page.selectOption('#model-select', MODEL);
    await page.setInputFiles('#image-file', babyPath);
    await page.click('#run');
    const remote = await waitForResult(page);
    expect([remote.width, remote.height]).toEqual([expected.width, expected.height]);
    expect(maxColourDifference(remote, expected)).toBeLessThanOrEqual(1);
    expect(await page.textContent('#stages')).toMatch(/upload[\s\S]*server[\s\S]*result/);
    await page.screenshot({ path: join(artifacts, 'demo-server-mode.png'), fullPage: true });

    // The same catalog model, downloaded from the server and run here.
    await page.check('input[name=mode][value=browser]');
    await page.waitForSelector(`#model-select option[value="${MODEL}"]:not([disabled])`, { state: 'attached' });
    await page.selectOption('#model-select', MODEL);
    await page.click('#run');
    const local = await waitForResult(page);
    expect(maxColourDifference(local, expected)).toBeLessThanOrEqual(1);
    expect(await page.textContent('#stages')).toMatch(/download[\s\S]*convert/);
    expect(errors).toEqual([]);
    expect(browser.refused).toEqual([]);
    await page.close();
  }, 300_000);
});

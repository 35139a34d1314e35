import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';
import { openBrowser, type Browser } from './harness.js';

// The functions passed to page.evaluate/waitForFunction run in the browser. The DOM lib cannot join
// this program (its fetch/Blob types clash with Node's), so the few browser globals they use are
// declared here, loosely, for this file only.
declare const document: any;
declare const window: any;
declare const navigator: any;
declare const localStorage: any;
declare const HTMLImageElement: any;
type HTMLImageElement = any;
type HTMLVideoElement = any;
type HTMLProgressElement = any;
type HTMLElement = any;

// The console as a catalogue manager uses it, in Debian's chromium: each step leaves a screenshot
// in test-output/console/. Steps share one page and run in order.
describe('the web console in a real browser', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  // Empty AMS_PUBLIC_URL: hrefs point at this server (http://localhost:<port>), so the browser can load them.
  const toLoopback = (href: string) => href.replace('//localhost:', '//127.0.0.1:');
  const uploaded: Record<string, string> = {};

  before(async () => {
    server = await startServer({ AMS_PUBLIC_URL: '' });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('sign in: a wrong token is told so plainly, the right one opens the workspace', async () => {
    const { page, shot } = browser;
    await page.goto(`${server.url}/console`);
    assert.equal(new URL(page.url()).pathname, '/console/');
    await page.getByLabel('Upload token').waitFor();
    await shot('01-sign-in');

    await page.getByLabel('Upload token').fill('not-the-right-token-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error', { hasText: 'Wrong token' }).waitFor();
    assert.equal(await page.locator('#workspace').isVisible(), false);
    await shot('02-wrong-token');

    await page.getByLabel('Upload token').fill(TOKEN);
    await page.getByLabel('Upload token').press('Enter');
    await page.locator('#gallery-status', { hasText: 'No assets yet' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('ams.token')), TOKEN);
    await shot('03-signed-in');
  });

  test('upload two images and a video through the file input: progress, preview and JSON for each', async () => {
    const { page, shot } = browser;
    const files = ['photo.jpg', 'image.png', 'clip.mp4'];
    await page.locator('#files').setInputFiles(files.map((f) => path.join(FIXTURES, f)));
    await page.waitForFunction(() => document.querySelectorAll('#uploads li[data-state="done"]').length === 3);
    for (const name of files) {
      const row = page.locator('#uploads li', { hasText: name });
      assert.equal(await row.locator('progress').evaluate((p: HTMLProgressElement) => p.value / p.max), 1, name);
      assert.ok(Number(await row.getAttribute('data-progress-events')) >= 1, `${name}: real upload progress events`);
      const body = JSON.parse((await row.locator('pre.json').textContent()) ?? '');
      assert.equal(body.success, true);
      assert.equal(body.name, name);
      uploaded[name] = body.id;
      // The finished upload's preview has loaded (an image decoded, or a video's metadata read).
      await row.locator('.thumb-media').waitFor();
      await page.waitForFunction(
        (el) => (el instanceof HTMLImageElement ? el.complete && el.naturalWidth > 0 : (el as HTMLVideoElement).readyState >= 1),
        await row.locator('.thumb-media').elementHandle(),
      );
    }
    await shot('04-uploaded');
  });

  test("a refused file shows the API's own message", async () => {
    const { page, shot } = browser;
    const apiMessage = (await json(await upload(server, await fixture('doc.pdf'), { filename: 'doc.pdf' }))).message;
    await page.locator('#files').setInputFiles(path.join(FIXTURES, 'doc.pdf'));
    const row = page.locator('#uploads li[data-state="error"]', { hasText: 'doc.pdf' });
    assert.equal(await row.getByRole('alert').textContent(), apiMessage);
    await shot('05-upload-refused');
  });

  test('the gallery shows the three, newest first, with loaded thumbnails, the video poster and badge', async () => {
    const { page, shot } = browser;
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 3);
    const ids = await page.locator('#gallery li').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id));
    assert.deepEqual(new Set(ids), new Set(Object.values(uploaded)));
    const api = await json(await fetch(`${server.url}/assets`, { headers: { authorization: `Bearer ${TOKEN}` } }));
    assert.deepEqual(ids, api.items.map((a: { id: string }) => a.id), 'the API order (newest first)');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#gallery .thumb-media')].every((el) =>
        el instanceof HTMLImageElement ? el.complete && el.naturalWidth > 0 : (el as HTMLVideoElement).readyState >= 1,
      ),
    );
    assert.equal(await page.locator('#gallery img.thumb-media').count(), 3, 'the video card shows its poster');
    const thumb = await page.locator(`#gallery li[data-id="${uploaded['photo.jpg']}"] img.thumb-media`).getAttribute('src');
    assert.match(thumb ?? '', /^\/images\/[0-9a-f-]{36}\?width=240&format=webp$/);
    const video = page.locator(`#gallery li[data-id="${uploaded['clip.mp4']}"]`);
    assert.equal(await video.locator('img.thumb-media').getAttribute('src'), `/videos/${uploaded['clip.mp4']}/poster?width=240&format=webp`);
    assert.equal(await video.locator('.badge').textContent(), 'Video · 0:01');
    await shot('06-gallery');
  });

  test('filter by type and search by name', async () => {
    const { page, shot } = browser;
    const names = () => page.locator('#gallery .card-name').allTextContents();
    await page.getByLabel('Type').selectOption('video');
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 1);
    assert.deepEqual(await names(), ['clip.mp4']);
    await shot('07-filter-videos');
    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('Name').fill('PHOTO');
    await page.getByLabel('Name').press('Enter');
    // Not the count: the video filter's list also has one item, so it would pass before the search lands.
    await page.waitForFunction(() => [...document.querySelectorAll('#gallery .card-name')].map((e) => e.textContent).join() === 'photo.jpg');
    assert.deepEqual(await names(), ['photo.jpg']);
    await page.getByLabel('Name').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 3);
  });

  test('inspect the video from the keyboard: every field, both URLs copyable, it plays and seeks', async () => {
    const { page, shot } = browser;
    const id = uploaded['clip.mp4']!;
    await page.locator(`#gallery li[data-id="${id}"] button`).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'clip.mp4' });
    await dialog.waitFor();
    const meta = await json(await fetch(`${server.url}/assets/${id}`));
    const field = (name: string) => dialog.locator(`dd[data-field="${name}"]`).textContent();
    for (const key of ['id', 'name', 'kind', 'mimeType', 'width', 'height', 'md5Checksum', 'href', 'createdAt']) {
      assert.ok(await dialog.locator(`dd[data-field="${key}"]`).count(), `field ${key} shown`);
    }
    assert.equal(await field('id'), id);
    assert.equal(await field('md5Checksum'), meta.md5Checksum);
    assert.match((await field('durationMs')) ?? '', /^1000 ms/);
    assert.equal(await dialog.getByLabel('File URL').inputValue(), meta.href);
    const redirect = await dialog.getByLabel('Redirect URL').inputValue();
    const res = await fetch(toLoopback(redirect), { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), meta.href);

    await dialog.getByRole('button', { name: 'Copy' }).first().click();
    await dialog.locator('#detail-status', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), meta.href);
    await dialog.getByRole('button', { name: 'Copy' }).nth(1).click();
    await page.waitForFunction((want) => navigator.clipboard.readText().then((t: string) => t === want), redirect);

    // Play (muted: headless autoplay policy), let it advance, then seek: needs Range support end to end.
    const player = dialog.locator('video#detail-player');
    await player.evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      await v.play();
    });
    await page.waitForFunction(() => {
      const v = document.querySelector('#detail-player');
      return v !== null && (v.currentTime > 0 || v.ended);
    });
    const seeked = await player.evaluate(
      (v: HTMLVideoElement) =>
        new Promise<{ time: number; seekableEnd: number }>((resolve) => {
          v.pause();
          v.addEventListener('seeked', () => resolve({ time: v.currentTime, seekableEnd: v.seekable.end(0) }), { once: true });
          v.currentTime = 0.5;
        }),
    );
    assert.ok(Math.abs(seeked.time - 0.5) < 0.05, `seeked to ${seeked.time}`);
    assert.ok(seeked.seekableEnd >= 0.9, `seekable to ${seeked.seekableEnd}`);
    await shot('08-video-detail');

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.id), id, 'focus returns to the card');
  });

  test('delete an image with confirmation: it leaves the gallery and its id answers 404', async () => {
    const { page, shot } = browser;
    const id = uploaded['photo.jpg']!;
    await page.locator(`#gallery li[data-id="${id}"] button`).click();
    const dialog = page.getByRole('dialog', { name: 'photo.jpg' });
    await page.waitForFunction(() => {
      const img = document.querySelector('img#detail-player');
      return img !== null && img.complete && img.naturalWidth === 640;
    });
    await dialog.getByRole('button', { name: 'Delete…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this asset?' });
    await confirm.waitFor();
    await shot('09-confirm-delete');
    // Cancel first: nothing is deleted.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    assert.equal((await fetch(`${server.url}/assets/${id}`)).status, 200);

    await dialog.getByRole('button', { name: 'Delete…' }).click();
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 2);
    assert.equal(await page.locator(`#gallery li[data-id="${id}"]`).count(), 0);
    assert.equal((await fetch(`${server.url}/assets/${id}`)).status, 404);
    await shot('10-deleted');
  });

  test('works at phone width without sideways scrolling, and the sign-in survives a reload', async () => {
    const { page, shot } = browser;
    await page.setViewportSize({ width: 375, height: 740 });
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 2);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal overflow');
    await shot('11-phone');
    await page.locator(`#gallery li[data-id="${uploaded['image.png']}"] button`).click();
    await page.getByRole('dialog', { name: 'image.png' }).waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'detail fits');
    await shot('12-phone-detail');
    await page.keyboard.press('Escape');

    // Dropping files works like picking them (a drop event carrying a real DataTransfer).
    const gif = (await fixture('anim.gif')).toString('base64');
    await page.evaluate((b64: string) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new (window as any).DataTransfer();
      data.items.add(new (window as any).File([bytes], 'dropped.gif', { type: 'image/gif' }));
      const zone = document.querySelector('#dropzone');
      zone.dispatchEvent(new (window as any).DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new (window as any).DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, gif);
    await page.locator('#uploads li[data-state="done"]', { hasText: 'dropped.gif' }).waitFor();
    await page.waitForFunction(() => document.querySelector('#gallery li .card-name')?.textContent === 'dropped.gif');
    await shot('13-phone-dropped');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Upload token').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('ams.token')), null);

    // A kept token the server no longer accepts (rotated) sends the user back to sign in, saying why.
    await page.evaluate(() => localStorage.setItem('ams.token', 'a-rotated-token-0123456789'));
    await page.reload();
    await page.locator('#signin-error', { hasText: 'no longer accepted' }).waitFor();
    assert.equal(await page.locator('#workspace').isVisible(), false);
    assert.equal(await page.evaluate(() => localStorage.getItem('ams.token')), null);
  });

  test('every control is labelled and reachable with Tab; the gallery pages with Load more', async () => {
    const { page, shot } = browser;
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.getByLabel('Upload token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 3);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('#workspace button, #workspace input, #workspace select, header button')]
        .filter((el: any) => !(el.labels?.length > 0 || el.getAttribute('aria-label') || el.textContent.trim()))
        .map((el: any) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
    const reached = new Set<string>();
    await page.locator('body').focus();
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || ''));
    }
    for (const id of ['signout', 'files', 'kind', 'q', 'card']) assert.ok(reached.has(id), `Tab reaches ${id}: ${[...reached].join(', ')}`);

    // A second page: more assets than one page holds (24), added through the API.
    for (let i = 0; i < 22; i++) {
      assert.equal((await upload(server, await fixture('image.webp'), { filename: `extra-${i}.webp` })).status, 201);
    }
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 24);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 25);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).isVisible(), false, 'no more pages');
    const ids = await page.locator('#gallery li').evaluateAll((lis) => lis.map((li: any) => li.dataset.id));
    assert.equal(new Set(ids).size, 25, 'no asset shown twice');
    await shot('14-paged');
  });
});

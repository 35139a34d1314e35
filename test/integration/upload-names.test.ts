import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TOKEN, fixture, json, startServer, type TestServer } from '../helpers/server.js';

const BOUNDARY = '----amsNames7f3a';

/** A multipart body whose file part carries exactly these Content-Disposition bytes, after `fields`. */
function bodyWith(disposition: Buffer | string, data: Buffer, fields: Array<[string, string]> = []): Buffer {
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) {
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: `), Buffer.from(disposition), Buffer.from('\r\nContent-Type: image/jpeg\r\n\r\n'));
  chunks.push(data, Buffer.from(`\r\n--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** The names clients really send, as the client meant them (README: the upload's `name`). */
describe('upload file names', () => {
  let server: TestServer;
  let photo: Buffer;
  before(async () => {
    server = await startServer();
    photo = await fixture('photo.jpg');
  });
  after(() => server.close());

  const post = (body: Buffer | ReadableStream<Uint8Array>) =>
    fetch(`${server.url}/assets`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      ...(body instanceof ReadableStream && { duplex: 'half' }),
    } as RequestInit);

  async function nameOf(body: Buffer | ReadableStream<Uint8Array>): Promise<string> {
    const res = await post(body);
    assert.equal(res.status, 201, await res.clone().text());
    const created = await json(res);
    // The stored name is what the metadata and the file's own Content-Disposition say from now on.
    assert.equal((await json(await fetch(`${server.url}/assets/${created.id}`))).name, created.name);
    return created.name;
  }

  test('filename* wins over filename, in either order (RFC 6266 §4.3, RFC 8187)', async () => {
    const ext = "filename*=UTF-8''%C3%A9t%C3%A9%20%E2%82%AC.jpg";
    assert.equal(await nameOf(bodyWith(`form-data; name="Filename"; filename="ete.jpg"; ${ext}`, photo)), 'été €.jpg');
    assert.equal(await nameOf(bodyWith(`form-data; name="Filename"; ${ext}; filename="ete.jpg"`, photo)), 'été €.jpg');
    const res = await post(bodyWith(`form-data; name="Filename"; filename="ete.jpg"; ${ext}`, photo));
    const file = await fetch(server.local((await json(res)).href));
    assert.equal(file.headers.get('content-disposition'), "inline; filename*=UTF-8''%C3%A9t%C3%A9%20%E2%82%AC.jpg");
  });

  test('a filename* that cannot be decoded leaves the plain filename', async () => {
    assert.equal(await nameOf(bodyWith(`form-data; name="Filename"; filename="plain.jpg"; filename*=UTF-8''caf%E9.jpg`, photo)), 'plain.jpg');
  });

  test('a name in raw Latin-1 bytes is read as windows-1252, not as replacement characters', async () => {
    const name = await nameOf(bodyWith(latin1('form-data; name="Filename"; filename="caf\xe9 \x93cr\xe8me\x94 \x80.jpg"'), photo));
    assert.equal(name, 'café “crème” €.jpg');
    assert.doesNotMatch(name, /\ufffd/);
  });

  test('a name in raw UTF-8 bytes (what browsers send) is kept', async () => {
    assert.equal(await nameOf(bodyWith(Buffer.from('form-data; name="Filename"; filename="写真 été.jpg"'), photo)), '写真 été.jpg');
  });

  test('the file part is found after other fields', async () => {
    const fields: Array<[string, string]> = [['note', 'filename="decoy.jpg"'], ['big', 'x'.repeat(60_000)]];
    assert.equal(await nameOf(bodyWith(latin1('form-data; name="Filename"; filename="na\xefve.jpg"'), photo, fields)), 'naïve.jpg');
  });

  test('headers split across many small chunks are read whole', async () => {
    const body = bodyWith("form-data; name=\"Filename\"; filename*=UTF-8''%C3%BCber.jpg; filename=\"uber.jpg\"", photo);
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= body.length) return controller.close();
        const size = at < 400 ? 7 : 64 * 1024;
        controller.enqueue(body.subarray(at, at + size));
        at += size;
      },
    });
    assert.equal(await nameOf(stream), 'über.jpg');
  });
});

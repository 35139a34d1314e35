import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { boundaryOf, dispositionParams, fileDisposition, fileNameOf, keepHead } from '../../src/http/part-filename.js';

/** A header value as the parser sees it: one character per byte sent. */
const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))).toString('latin1');

// [what, Content-Disposition value, expected name]
const names: Array<[string, string, string | undefined]> = [
  ['a plain ASCII name', 'form-data; name="Filename"; filename="photo.jpg"', 'photo.jpg'],
  ['a raw UTF-8 name (browsers)', bytes('form-data; name="f"; filename="mon été 写真.jpg"'), 'mon été 写真.jpg'],
  ['raw Latin-1 bytes (not UTF-8) are windows-1252', bytes('form-data; name="f"; filename="caf', [0xe9], '.jpg"'), 'café.jpg'],
  ['windows-1252 punctuation in 0x80-0x9F', bytes('form-data; filename="', [0x93, 0x80, 0x35, 0x94, 0x20, 0x96, 0x20, 0x9f], '.png"'), '\u201c\u20ac5\u201d \u2013 \u0178.png'],
  ['filename* after filename wins', "form-data; name=\"f\"; filename=\"a.jpg\"; filename*=UTF-8''%C3%A9t%C3%A9.jpg", 'été.jpg'],
  ['filename* before filename wins', "form-data; name=\"f\"; filename*=UTF-8''%C3%A9t%C3%A9.jpg; filename=\"a.jpg\"", 'été.jpg'],
  ['filename* alone', "form-data; name=\"f\"; filename*=utf-8'fr'%E2%82%AC%20prix.webp", '€ prix.webp'],
  ['filename* quoted (some clients)', "form-data; name=\"f\"; filename*=\"UTF-8''b%C3%BCro.gif\"", 'büro.gif'],
  ['filename* in ISO-8859-1', "form-data; name=\"f\"; filename*=iso-8859-1''caf%E9.jpg", 'café.jpg'],
  ['filename* in an unsupported charset falls back to filename', "form-data; filename=\"x.jpg\"; filename*=shift_jis''%82%A0.jpg", 'x.jpg'],
  ['filename* with broken percent-encoding falls back', "form-data; filename=\"x.jpg\"; filename*=UTF-8''%E9%.jpg", 'x.jpg'],
  ['filename* that is not UTF-8 falls back', "form-data; filename=\"x.jpg\"; filename*=UTF-8''caf%E9.jpg", 'x.jpg'],
  ['filename* without its quotes falls back', 'form-data; filename="x.jpg"; filename*=%C3%A9.jpg', 'x.jpg'],
  ['names are case-insensitive', "form-data; FILENAME=\"y.jpg\"; FileName*=UTF-8''z.jpg", 'z.jpg'],
  ['an escaped quote', 'form-data; name="f"; filename="say \\"hi\\".jpg"', 'say "hi".jpg'],
  ['a Windows path keeps its backslashes (safeFileName strips the folders)', 'form-data; filename="C:\\dir\\a.jpg"', 'C:\\dir\\a.jpg'],
  ['a semicolon inside quotes', 'form-data; name="f"; filename="a;b.jpg"', 'a;b.jpg'],
  ['text after the closing quote is not part of the name', 'form-data; name="f"; filename="payload.jpg".html', 'payload.jpg'],
  ['an unquoted name', 'form-data; name=f; filename=plain.png', 'plain.png'],
  ['an empty name', 'form-data; name="f"; filename=""', ''],
  ['no file name at all', 'form-data; name="f"', undefined],
];
for (const [what, disposition, want] of names) {
  test(`fileNameOf: ${what}`, () => assert.equal(fileNameOf(disposition), want));
}

test('dispositionParams: the first of a repeated parameter counts', () => {
  assert.deepEqual([...dispositionParams('form-data; name="a"; name="b"; filename=x')], [['name', 'a'], ['filename', 'x']]);
});

test('boundaryOf: quoted, unquoted, absent', () => {
  assert.equal(boundaryOf('multipart/form-data; boundary=----abc123'), '----abc123');
  assert.equal(boundaryOf('multipart/form-data; charset=utf-8; BOUNDARY="a b:c"'), 'a b:c');
  assert.equal(boundaryOf('multipart/form-data'), null);
  assert.equal(boundaryOf(undefined), null);
});

const body = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));

test('fileDisposition: the first part that names a file, past fields and a preamble', () => {
  const head = body(
    'preamble\r\n--XX\r\nContent-Disposition: form-data; name="note"\r\n\r\nfilename="no.jpg" is not a header\r\n',
    '--XX\r\ncontent-type: image/jpeg\r\ncontent-disposition:form-data; name="Filename"; filename="caf\xe9.jpg"\r\n\r\n\xff\xd8\xff',
  );
  assert.equal(fileDisposition(head, 'XX'), 'form-data; name="Filename"; filename="caf\xe9.jpg"');
});

test('fileDisposition: null when the headers are cut off or the body ends first', () => {
  assert.equal(fileDisposition(body('--XX\r\nContent-Disposition: form-data; name="f"; filename="a'), 'XX'), null);
  assert.equal(fileDisposition(body('--XX\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--XX--\r\n'), 'XX'), null);
  assert.equal(fileDisposition(body('no delimiter here'), 'XX'), null);
});

test('keepHead: keeps the first bytes across chunks, stops at its limit, and detaches', () => {
  const stream = new PassThrough();
  const kept = keepHead(stream, 10);
  stream.write(Buffer.from('abcd'));
  stream.write(Buffer.from('efgh'));
  stream.write(Buffer.from('ijkl'));
  assert.equal(stream.listenerCount('data'), 0, 'detached once it has its limit');
  assert.equal(kept.stop().toString(), 'abcdefghij');
  const other = new PassThrough();
  const partial = keepHead(other, 100);
  other.write(Buffer.from('xy'));
  assert.equal(partial.stop().toString(), 'xy');
  assert.equal(other.listenerCount('data'), 0);
  other.write(Buffer.from('z'));
  assert.equal(partial.stop().toString(), 'xy', 'the same bytes on every call');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeFileName } from '../../src/ingest/name.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** True when `s` survives a UTF-8 round trip, i.e. no character (or surrogate pair) was split. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

// [what, raw, expected]
const cases: Array<[string, string | undefined, string | null]> = [
  ['a plain name', 'photo.jpg', 'photo.jpg'],
  ['inner spaces and unicode kept', 'mon été 写真 (2).jpg', 'mon été 写真 (2).jpg'],
  ['parent directories', '../../etc/passwd', 'passwd'],
  ['absolute path', '/var/tmp/shot.png', 'shot.png'],
  ['Windows path', 'C:\\x\\y.jpg', 'y.jpg'],
  ['mixed slashes', 'a/b\\c/d.gif', 'd.gif'],
  ['UNC path', '\\\\server\\share\\e.webp', 'e.webp'],
  ['NUL and C0 controls', 'a\u0000b\u0007c\u001f.jpg', 'abc.jpg'],
  ['newline and tab', 'line\r\nbreak\t.jpg', 'linebreak.jpg'],
  ['DEL and C1 controls', 'a\u007fb\u0085c\u009f.jpg', 'abc.jpg'],
  ['right-to-left override', 'invoice\u202Egpj.exe', 'invoicegpj.exe'],
  ['other bidi embeddings and isolates', '\u202Aa\u202Bb\u202Cc\u202Dd\u2066e\u2067f\u2068g\u2069.png', 'abcdefg.png'],
  ['zero-width characters and BOM', '\uFEFFze\u200Bro\u200D\u200F.jpg', 'zero.jpg'],
  ['leading dot', '.hidden.jpg', 'hidden.jpg'],
  ['leading dots', '...jpg', 'jpg'],
  ['dot after a directory', 'dir/..secret.png', 'secret.png'],
  ['surrounding spaces', '   spaced.jpg  ', 'spaced.jpg'],
  ['controls hiding a leading dot', '\u202E.\u0000hidden.jpg', 'hidden.jpg'],
  ['NFD is composed to NFC', 'cafe\u0301.jpg', 'caf\u00e9.jpg'],
  ['Hangul jamo are composed', '\u1100\u1161.png', '\uAC00.png'],
  ['undefined', undefined, null],
  ['empty', '', null],
  ['only spaces', '    ', null],
  ['only dots', '...', null],
  ['only parent directories', '../..', null],
  ['trailing slash', 'some/dir/', null],
  ['trailing backslash', 'C:\\dir\\', null],
  ['only controls and bidi', '\u0000\u202E\u200B\uFEFF', null],
  ['only junk after the last slash', 'good.jpg/\u202E. ', null],
];

for (const [what, raw, expected] of cases) {
  test(`safeFileName: ${what}`, () => {
    assert.equal(safeFileName(raw), expected);
  });
}

test('safeFileName: nothing that comes out has a slash, control, bidi control or leading dot', () => {
  for (const [, raw] of cases) {
    const name = safeFileName(raw);
    if (name === null) continue;
    assert.doesNotMatch(name, /[\\/\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|^\./, JSON.stringify(raw));
  }
});

// [what, raw, expected]
const long: Array<[string, string, string]> = [
  ['exactly 200 bytes is kept', `${'a'.repeat(196)}.jpg`, `${'a'.repeat(196)}.jpg`],
  ['201 bytes loses one stem byte', `${'a'.repeat(197)}.jpg`, `${'a'.repeat(196)}.jpg`],
  ['ASCII stem cut, extension kept', `${'a'.repeat(300)}.jpeg`, `${'a'.repeat(195)}.jpeg`],
  // 'é' is 2 bytes: 98 of them (196) + '.jpg' (4) = 200.
  ['2-byte characters', `${'é'.repeat(150)}.jpg`, `${'é'.repeat(98)}.jpg`],
  // '中' is 3 bytes: 65 of them (195) fit in 196; a 66th would need 198.
  ['3-byte characters, boundary mid-character', `${'中'.repeat(100)}.jpg`, `${'中'.repeat(65)}.jpg`],
  // '😀' is 4 bytes and two UTF-16 units: 49 of them (196) + '.png'.
  ['astral characters are not split into surrogates', `${'😀'.repeat(100)}.png`, `${'😀'.repeat(49)}.png`],
  ['odd offset before astral characters', `x${'😀'.repeat(100)}.png`, `x${'😀'.repeat(48)}.png`],
  ['multi-byte extension kept', `${'a'.repeat(300)}.джпг`, `${'a'.repeat(191)}.джпг`],
  ['no extension', 'b'.repeat(500), 'b'.repeat(200)],
  // An "extension" longer than 10 characters is just part of the name.
  ['over-long extension is not kept', `${'c'.repeat(300)}.averylongext`, 'c'.repeat(200)],
  ['only the last extension is kept', `${'d'.repeat(300)}.tar.gz`, `${'d'.repeat(197)}.gz`],
  // NFC first: 150 × (e + U+0301) is 450 bytes in NFD but 300 in NFC, so 98 'é' fit.
  ['normalised before cutting', `${'e\u0301'.repeat(150)}.jpg`, `${'é'.repeat(98)}.jpg`],
];

for (const [what, raw, expected] of long) {
  test(`safeFileName over-long: ${what}`, () => {
    const name = safeFileName(raw);
    assert.equal(name, expected);
    assert.ok(bytes(name ?? '') <= 200, `${bytes(name ?? '')} bytes`);
    assert.ok(wellFormed(name ?? ''), 'no split character');
  });
}

test('safeFileName: a name as long as a multipart header allows (80 KB) is cut', () => {
  // The quadratic cut this guards against took about a minute of event-loop time for this input.
  const name = safeFileName(`${'名'.repeat(27_000)}.mp4`);
  assert.equal(name, `${'名'.repeat(65)}.mp4`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDelivery, type DeliveryRequest, type Representation } from '../../src/delivery/plan.js';

const rep: Representation = {
  etag: '"5f2b9c"',
  size: 1000,
  contentType: 'image/jpeg',
  // Milliseconds on purpose: HTTP dates have whole seconds, so Last-Modified must drop them.
  lastModified: new Date('2024-05-06T07:08:09.250Z'),
  fileName: 'naïve "photo" it\'s (1).jpg',
};
const HTTP_DATE = 'Mon, 06 May 2024 07:08:09 GMT';

const common = {
  etag: '"5f2b9c"',
  'cache-control': 'public, max-age=31536000, immutable',
  'last-modified': HTTP_DATE,
  'accept-ranges': 'bytes',
  'x-content-type-options': 'nosniff',
};
const full = {
  ...common,
  'content-type': 'image/jpeg',
  // RFC 8187 (ex-5987) ext-value: UTF-8 percent-encoded, and ' ( ) * are not attr-chars either.
  'content-disposition': "inline; filename*=UTF-8''na%C3%AFve%20%22photo%22%20it%27s%20%281%29.jpg",
};

test('200: a plain GET gets every header and the whole body', () => {
  assert.deepEqual(planDelivery(rep, { method: 'GET' }), {
    status: 200,
    headers: { ...full, 'content-length': '1000' },
    range: null,
    body: true,
  });
});

test('206: a satisfiable Range gets content-range, its own length and the range', () => {
  assert.deepEqual(planDelivery(rep, { method: 'GET', range: 'bytes=100-199' }), {
    status: 206,
    headers: { ...full, 'content-range': 'bytes 100-199/1000', 'content-length': '100' },
    range: { start: 100, end: 199 },
    body: true,
  });
});

test('206: a suffix range past the start of the file is the whole file as 206', () => {
  const plan = planDelivery(rep, { method: 'GET', range: 'bytes=-5000' });
  assert.equal(plan.status, 206);
  assert.equal(plan.headers['content-range'], 'bytes 0-999/1000');
  assert.equal(plan.headers['content-length'], '1000');
});

test('416: an unsatisfiable Range names the size and carries no body headers', () => {
  assert.deepEqual(planDelivery(rep, { method: 'GET', range: 'bytes=1000-' }), {
    status: 416,
    headers: { ...common, 'content-range': 'bytes */1000' },
    size: 1000,
  });
});

test('200: an invalid or multi-part Range is ignored', () => {
  for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3']) {
    const plan = planDelivery(rep, { method: 'GET', range });
    assert.equal(plan.status, 200, range);
    assert.equal(plan.headers['content-length'], '1000', range);
    assert.equal(plan.headers['content-range'], undefined, range);
  }
});

// [what, If-None-Match, expected status]
const ifNoneMatch: Array<[string, string, 200 | 304]> = [
  ['exact', '"5f2b9c"', 304],
  ['weak form (weak comparison)', 'W/"5f2b9c"', 304],
  ['in a list', '"aaa", "5f2b9c", "bbb"', 304],
  ['weak form in a list without spaces', '"aaa",W/"5f2b9c"', 304],
  ['star', '*', 304],
  ['other etag', '"aaa"', 200],
  ['list of other etags', '"aaa", W/"bbb"', 200],
  ['unquoted value is not the etag', '5f2b9c', 200],
  ['prefix of the etag', '"5f2b"', 200],
];

for (const [what, header, status] of ifNoneMatch) {
  test(`If-None-Match ${what} (${header}) → ${status}`, () => {
    const plan = planDelivery(rep, { method: 'GET', ifNoneMatch: header });
    assert.equal(plan.status, status);
    if (status === 304) {
      // A 304 repeats the validators and caching headers of the 200 it stands for, and no body headers.
      assert.deepEqual(plan.headers, common);
    } else {
      assert.equal(plan.headers['content-length'], '1000');
    }
  });
}

test('304 takes precedence over Range', () => {
  const plan = planDelivery(rep, { method: 'GET', ifNoneMatch: '"5f2b9c"', range: 'bytes=0-9' });
  assert.equal(plan.status, 304);
  assert.equal(plan.headers['content-range'], undefined);
});

test('304 takes precedence over an unsatisfiable Range', () => {
  assert.equal(planDelivery(rep, { method: 'GET', ifNoneMatch: '*', range: 'bytes=5000-' }).status, 304);
});

// [what, If-Range, expected status]
const ifRange: Array<[string, string, 200 | 206]> = [
  ['matching etag', '"5f2b9c"', 206],
  ['matching etag with spaces around it', '  "5f2b9c" ', 206],
  ['other etag', '"aaa"', 200],
  // If-Range needs the strong comparison (RFC 9110 §13.1.5): a weak tag never matches.
  ['weak form of the etag', 'W/"5f2b9c"', 200],
  ['exact Last-Modified date', HTTP_DATE, 206],
  ['an earlier date', 'Mon, 06 May 2024 07:08:08 GMT', 200],
  ['a later date', 'Tue, 07 May 2024 07:08:09 GMT', 200],
  ['the same instant in another date format', 'Monday, 06-May-24 07:08:09 GMT', 200],
  ['garbage', 'yesterday', 200],
];

for (const [what, header, status] of ifRange) {
  test(`If-Range ${what} (${header}) with a Range → ${status}`, () => {
    const plan = planDelivery(rep, { method: 'GET', range: 'bytes=10-19', ifRange: header });
    assert.equal(plan.status, status);
    if (status === 206) {
      assert.equal(plan.headers['content-range'], 'bytes 10-19/1000');
      assert.equal(plan.headers['content-length'], '10');
    } else {
      assert.equal(plan.headers['content-range'], undefined);
      assert.equal(plan.headers['content-length'], '1000');
      assert.equal(plan.status === 200 && plan.range, null);
    }
  });
}

test('If-Range that fails turns an unsatisfiable Range into a full 200, not 416', () => {
  assert.equal(planDelivery(rep, { method: 'GET', range: 'bytes=5000-', ifRange: '"aaa"' }).status, 200);
});

// [what, request]
const headCases: Array<[string, Omit<DeliveryRequest, 'method'>]> = [
  ['plain', {}],
  ['with a Range', { range: 'bytes=0-9' }],
  ['with an unsatisfiable Range', { range: 'bytes=5000-' }],
  ['with a matching If-None-Match', { ifNoneMatch: '"5f2b9c"' }],
];

for (const [what, req] of headCases) {
  test(`HEAD ${what}: same status and headers as GET, no body`, () => {
    const get = planDelivery(rep, { method: 'GET', ...req });
    const head = planDelivery(rep, { method: 'HEAD', ...req });
    assert.equal(head.status, get.status);
    assert.deepEqual(head.headers, get.headers);
    if ('body' in head) assert.equal(head.body, false);
    if ('body' in get) assert.equal(get.body, true);
  });
}

test('content-disposition: a plain ASCII name is kept readable', () => {
  const plan = planDelivery({ ...rep, fileName: 'photo-01_final.v2.jpg' }, { method: 'GET' });
  assert.equal(plan.headers['content-disposition'], "inline; filename*=UTF-8''photo-01_final.v2.jpg");
});

test('content-disposition: every character outside RFC 8187 attr-char is percent-encoded', () => {
  const nasty = 'a"b\'c(d)e*f;g,h\\i%j k\u00e9\u{1F600}.jpg';
  const value = planDelivery({ ...rep, fileName: nasty }, { method: 'GET' }).headers['content-disposition'] ?? '';
  const prefix = "inline; filename*=UTF-8''";
  assert.ok(value.startsWith(prefix), value);
  const encoded = value.slice(prefix.length);
  assert.match(encoded, /^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+$/);
  assert.equal(decodeURIComponent(encoded), nasty);
});

test('an empty file is served whole, even to a Range request', () => {
  const empty = { ...rep, size: 0 };
  assert.equal(planDelivery(empty, { method: 'GET' }).headers['content-length'], '0');
  assert.equal(planDelivery(empty, { method: 'GET', range: 'bytes=0-' }).status, 416);
  const suffix = planDelivery(empty, { method: 'GET', range: 'bytes=-10' });
  assert.equal(suffix.status, 200);
  assert.equal(suffix.headers['content-length'], '0');
});

// Preconditions, RFC 9110 §13.2.2. [what, request headers, expected status]
const EARLIER = 'Mon, 06 May 2024 07:08:08 GMT';
const LATER = 'Mon, 06 May 2024 07:08:10 GMT';
const preconditions: Array<[string, Partial<DeliveryRequest>, number]> = [
  ['If-Match with the ETag', { ifMatch: '"5f2b9c"' }, 200],
  ['If-Match in a list', { ifMatch: '"other", "5f2b9c"' }, 200],
  ['If-Match *', { ifMatch: '*' }, 200],
  ['If-Match with another ETag', { ifMatch: '"other"' }, 412],
  ['If-Match compares strongly: a weak tag fails', { ifMatch: 'W/"5f2b9c"' }, 412],
  ['If-Unmodified-Since = Last-Modified (the milliseconds do not count)', { ifUnmodifiedSince: HTTP_DATE }, 200],
  ['If-Unmodified-Since later', { ifUnmodifiedSince: LATER }, 200],
  ['If-Unmodified-Since earlier', { ifUnmodifiedSince: EARLIER }, 412],
  ['If-Unmodified-Since not a date is ignored', { ifUnmodifiedSince: 'yesterday' }, 200],
  ['If-Unmodified-Since is ignored when If-Match is sent', { ifMatch: '"5f2b9c"', ifUnmodifiedSince: EARLIER }, 200],
  ['If-Modified-Since = Last-Modified', { ifModifiedSince: HTTP_DATE }, 304],
  ['If-Modified-Since later', { ifModifiedSince: LATER }, 304],
  ['If-Modified-Since earlier', { ifModifiedSince: EARLIER }, 200],
  ['If-Modified-Since not a date is ignored', { ifModifiedSince: 'garbage' }, 200],
  ['If-Modified-Since is ignored when If-None-Match is sent', { ifNoneMatch: '"other"', ifModifiedSince: LATER }, 200],
  ['412 comes before 304', { ifMatch: '"other"', ifNoneMatch: '"5f2b9c"' }, 412],
  ['304 comes before Range', { ifModifiedSince: HTTP_DATE, range: 'bytes=0-9' }, 304],
];
for (const [what, headers, status] of preconditions) {
  test(`preconditions: ${what} → ${status}`, () => {
    for (const method of ['GET', 'HEAD']) {
      const plan = planDelivery(rep, { method, ...headers });
      assert.equal(plan.status, status, method);
      if (status === 304 || status === 412) assert.deepEqual(plan.headers, common, 'no body headers');
    }
  });
}

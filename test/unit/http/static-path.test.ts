import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInside, resolveStaticPath } from '../../../src/http/static-path.js';
import { parseRange } from '../../../src/http/range.js';
import { cacheControlOf, contentTypeOf } from '../../../src/http/mime.js';

const root = path.resolve('/srv/www');

describe('resolveStaticPath', () => {
  it('maps request paths under the root', () => {
    expect(resolveStaticPath(root, '/')).toBe(root);
    expect(resolveStaticPath(root, '/index.html')).toBe(path.join(root, 'index.html'));
    expect(resolveStaticPath(root, '/live/a.m3u8')).toBe(path.join(root, 'live/a.m3u8'));
    expect(resolveStaticPath(root, '/a%20b.txt')).toBe(path.join(root, 'a b.txt'));
    expect(resolveStaticPath(root, '//x/./y.ts')).toBe(path.join(root, 'x/y.ts'));
  });

  it.each([
    '/../etc/passwd',
    '/a/../../etc/passwd',
    '/a/..',
    '/%2e%2e/etc/passwd',
    '/%2E%2E/etc/passwd',
    '/.%2e/etc/passwd',
    '/a/%2e%2e/%2e%2e/etc',
    '/%2f..%2fetc',
    '/a%2Fb',
    '/..%2f..%2fetc%2fpasswd',
    '/..\\..\\etc\\passwd',
    '/a\\b',
    '/%5c..%5cetc',
    '/a%00.html',
    '/a\0.html',
    '/%E0%A4%A', // bad percent-encoding
    'relative/path',
  ])('refuses %j', (url) => {
    expect(resolveStaticPath(root, url)).toBeNull();
  });

  it('decodes once: a double-encoded dot-dot stays a literal name under the root', () => {
    expect(resolveStaticPath(root, '/%252e%252e/x')).toBe(path.join(root, '%2e%2e/x'));
  });

  it('isInside', () => {
    expect(isInside(root, root)).toBe(true);
    expect(isInside(root, path.join(root, 'a'))).toBe(true);
    expect(isInside(root, path.resolve('/srv/www2/a'))).toBe(false);
    expect(isInside(root, path.resolve('/srv'))).toBe(false);
    expect(isInside(root, path.join(root, '..foo'))).toBe(false);
  });
});

describe('parseRange', () => {
  it('reads single ranges', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=10-1000', 100)).toEqual({ start: 10, end: 99 });
  });
  it('416 when nothing of the file is in range', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=200-300', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
  it('ignores what it does not serve', () => {
    expect(parseRange('items=0-1', 100)).toBe('none');
    expect(parseRange('bytes=0-1,5-6', 100)).toBe('none');
    expect(parseRange('bytes=9-3', 100)).toBe('none');
    expect(parseRange('bytes=-', 100)).toBe('none');
  });
});

describe('content types', () => {
  it('by extension', () => {
    expect(contentTypeOf('a.m3u8')).toBe('application/vnd.apple.mpegurl');
    expect(contentTypeOf('a.TS')).toBe('video/mp2t');
    expect(contentTypeOf('a.flv')).toBe('video/x-flv');
    expect(contentTypeOf('a.html')).toMatch(/^text\/html/);
    expect(contentTypeOf('a.bin')).toBe('application/octet-stream');
    expect(cacheControlOf('a.m3u8')).toBe('no-cache');
    expect(cacheControlOf('a.ts')).toMatch(/max-age=\d+/);
  });
});

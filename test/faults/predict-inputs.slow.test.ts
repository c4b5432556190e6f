/**
 * `predict` with untrusted or unreadable picture files: only PNG, JPEG, WebP, GIF and TIFF,
 * recognised by their bytes, reach the decoder (an SVG could pull in local files); a file the
 * user may not read is reported as such, not as "not an image".
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { lines, runCli } from '../helpers/cli.js';
import { digitLabel, digitPixels, digitPng } from '../helpers/digits.js';
import { SHIPPED_MODEL } from '../helpers/models.js';
import { NOBODY, runCliAsUser, unreadableTo } from '../helpers/unprivileged.js';

const ACCEPTED = 'predict reads raster images (PNG, JPEG, WebP, GIF, TIFF)';
const INDEX = 0; // a 7
let dir: string;
let good: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'predict-inputs-'));
  // Readable by the unprivileged user of the permission test.
  chmodSync(dir, 0o755);
  good = await digitPng(dir, INDEX);
});

const answer = (file: string, digit: number) =>
  expect.stringMatching(new RegExp(`^${file}: ${digit} \\(\\d+\\.\\d\\d%\\), runner-up`));

describe('only raster images, by their bytes', () => {
  test('an SVG that pulls in a local PNG (<image href>) is refused, whatever its name; the other files still answered', () => {
    const svg = (href: string) =>
      `<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="28" height="28">` +
      `<image href="${href}" xlink:href="${href}" width="28" height="28"/></svg>\n`;
    const relative = join(dir, 'digit.svg');
    writeFileSync(relative, svg(`digit-${INDEX}.png`));
    const absolute = join(dir, 'absolute.svg');
    writeFileSync(absolute, svg(`file://${good}`));
    const disguised = join(dir, 'disguised.png');
    writeFileSync(disguised, svg(good));
    const r = runCli('predict', [relative, good, absolute, disguised]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${relative}: SVG is not accepted: ${ACCEPTED}`,
      `error: ${absolute}: SVG is not accepted: ${ACCEPTED}`,
      `error: ${disguised}: SVG is not accepted: ${ACCEPTED}`,
    ]);
    expect(lines(r.stdout)).toEqual([answer(good, digitLabel(INDEX))]);
  });

  test('XML, HTML, PDF and plain text are refused with a one-line reason each', () => {
    const files: [string, string, string][] = [
      [
        'notes.xml',
        '\uFEFF<?xml version="1.0"?>\n<!-- a note -->\n<note>7</note>\n',
        `XML is not accepted: ${ACCEPTED}`,
      ],
      [
        'page.html',
        '<!DOCTYPE html>\n<html><body><img src="digit-0.png"></body></html>\n',
        `HTML is not accepted: ${ACCEPTED}`,
      ],
      ['scan.pdf', '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n', `PDF is not accepted: ${ACCEPTED}`],
      ['readme.txt', 'seven\n', 'not an image (unsupported or unrecognised format)'],
    ];
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const r = runCli('predict', [...files.map(([name]) => join(dir, name)), good]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual(files.map(([name, , problem]) => `error: ${join(dir, name)}: ${problem}`));
    expect(lines(r.stdout)).toEqual([answer(good, digitLabel(INDEX))]);
  });

  test('PNG, JPEG, WebP, GIF and TIFF are all read, by content whatever the extension', async () => {
    const px = sharp(digitPixels(INDEX), { raw: { width: 28, height: 28, channels: 1 } }).resize(84, 84);
    const files: string[] = [];
    for (const format of ['png', 'jpeg', 'webp', 'gif', 'tiff'] as const) {
      const file = join(dir, `digit.${format}`);
      await px.clone().toFormat(format).toFile(file);
      files.push(file);
    }
    const misnamed = join(dir, 'really-a-png.jpg');
    copyFileSync(good, misnamed);
    files.push(misnamed);
    const r = runCli('predict', files);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual(files.map((f) => answer(f, digitLabel(INDEX))));
  });

  test('a truncated PNG is a decoding error, not a crash', async () => {
    const bytes = await sharp(digitPixels(INDEX), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const cut = join(dir, 'cut.png');
    writeFileSync(cut, bytes.subarray(0, 40));
    const r = runCli('predict', [cut, good]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^error: ${cut}: cannot decode the image \\(.+\\)$`)),
    ]);
    expect(lines(r.stdout)).toEqual([answer(good, digitLabel(INDEX))]);
  });
});

describe('unreadable files', () => {
  // As root, chmod 000 does not stop reads: the CLI runs as nobody (see helpers/unprivileged.ts).
  const who = process.getuid?.() === 0 ? `uid ${NOBODY}` : 'this user';

  test(`an image without read permission is "permission denied" (run as ${who}); the other files still answered`, async () => {
    const secret = join(dir, 'secret.png');
    copyFileSync(good, secret);
    chmodSync(secret, 0o000);
    expect(
      unreadableTo(secret),
      `${secret} (mode 000) is still readable as ${who}: cannot test permission denied here`,
    ).toBe(true);
    const r = runCliAsUser('predict', [secret, good]);
    expect(lines(r.stderr)).toEqual([`error: ${secret}: cannot read: permission denied (EACCES)`]);
    expect(r.status).toBe(1);
    expect(lines(r.stdout)).toEqual([answer(good, digitLabel(INDEX))]);
  });

  test(`a model without read permission is "permission denied" too (run as ${who})`, () => {
    const model = join(dir, 'secret.onnx');
    copyFileSync(SHIPPED_MODEL, model);
    chmodSync(model, 0o000);
    expect(
      unreadableTo(model),
      `${model} (mode 000) is still readable as ${who}: cannot test permission denied here`,
    ).toBe(true);
    const r = runCliAsUser('predict', [good, '--model', model]);
    expect(lines(r.stderr)).toEqual([`error: ${model}: cannot read: permission denied (EACCES)`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
  });
});

test('a pipe or a device given as an image is refused at once, not read forever', () => {
  const dir = mkdtempSync(join(tmpdir(), 'predict-fifo-'));
  const fifo = join(dir, 'digit.png');
  execFileSync('mkfifo', [fifo]);
  const r = runCli('predict', [fifo, '/dev/zero'], { timeout: 30_000 });
  expect(r.status).toBe(1); // null: it hung
  expect(lines(r.stderr)).toEqual([
    `error: ${fifo}: not a regular file (a pipe, socket or device)`,
    'error: /dev/zero: not a regular file (a pipe, socket or device)',
  ]);
});

/** The image-tree rules the page shares with `--data`, on paths alone, and the data-recipe defaults. */
import { describe, expect, test } from 'vitest';
import { decodedSizeProblem, hasColour, listImageTree, spread, treeInputShape } from '../../src/data/image-tree.js';
import { dataDefaults } from '../../src/train/core/data-recipe.js';

describe('listImageTree', () => {
  test('class folders sorted by code unit (as Python sorts), each image labelled, other files ignored', () => {
    const paths = [
      'dog/1.png',
      'Cat/a.JPG',
      'cat/b.webp',
      'dog/notes.txt',
      'README.md',
      '.thumbs/x.png',
      'dog/sub/2.gif',
    ];
    const listing = listImageTree('pets', paths);
    expect(listing.classNames).toEqual(['Cat', 'cat', 'dog']);
    expect(listing.train).toEqual([
      { index: 0, label: 2 }, // 1.png
      { index: 6, label: 2 }, // 2.gif
      { index: 1, label: 0 }, // a.JPG
      { index: 2, label: 1 }, // b.webp
    ]);
    expect(listing.ignored).toEqual(['dog/notes.txt']);
    expect(listing.test).toBeUndefined();
  });

  test('images in file-name order across classes (ties in class order): a numbered set keeps its order', () => {
    const paths = ['b/3.png', 'a/4.png', 'b/0.png', 'a/1.png', 'a/2.png', 'b/x/2.png'];
    expect(listImageTree('d', paths).train).toEqual([
      { index: 2, label: 1 }, // 0
      { index: 3, label: 0 }, // 1
      { index: 4, label: 0 }, // 2 in a
      { index: 5, label: 1 }, // 2 in b
      { index: 0, label: 1 }, // 3
      { index: 1, label: 0 }, // 4
    ]);
  });

  test("a classes.txt's order labels the classes (Keras's class_names); it must name each folder once", () => {
    const paths = ['b/1.png', 'a/2.png', 'classes.txt'];
    const listing = listImageTree('d', paths, ['b', 'a']);
    expect(listing.classNames).toEqual(['b', 'a']);
    expect(listing.train).toEqual([
      { index: 0, label: 0 },
      { index: 1, label: 1 },
    ]);
    expect(listing.ignored).toEqual([]);
    expect(() => listImageTree('d', paths, ['a', 'c'])).toThrow(
      'd/classes.txt: lists a, c; the class folders are a, b',
    );
    expect(() => listImageTree('d', paths, ['a', 'b', 'a'])).toThrow('d/classes.txt: lists a, b, a;');
  });

  test('train/ with test/ (or val/) gives both splits; a test/ beside class folders is not a class', () => {
    const both = listImageTree('d', ['train/a/1.png', 'train/b/2.png', 'val/a/3.png', 'val/b/4.png']);
    expect(both.classNames).toEqual(['a', 'b']);
    expect(both.test).toEqual([
      { index: 2, label: 0 },
      { index: 3, label: 1 },
    ]);
    const beside = listImageTree('d', ['a/1.png', 'b/2.png', 'test/a/3.png', 'test/b/4.png']);
    expect(beside.classNames).toEqual(['a', 'b']);
    expect(beside.test?.map((t) => t.index)).toEqual([2, 3]);
  });

  test('what cannot make a classifier is refused in one line naming the folder', () => {
    expect(() => listImageTree('d', ['a.png'])).toThrow(
      'd: holds no class folders (one subfolder of images per class)',
    );
    expect(() => listImageTree('d', ['cats/1.png'])).toThrow(
      "d: holds one class folder only ('cats'): a classifier needs at least two classes",
    );
    expect(() => listImageTree('d', ['a/1.png', 'b/notes.txt'])).toThrow(
      'd/b: holds no images (PNG, JPEG, WebP, GIF or TIFF)',
    );
    expect(() => listImageTree('d', ['train/a/1.png', 'train/b/1.png', 'test/a/1.png', 'test/c/1.png'])).toThrow(
      "d/test: its class folders (a, c) are not the training folders' (a, b)",
    );
  });
});

describe('colour and size', () => {
  test('grey with compression noise is grey; a coloured pixel is colour; the seed CNN takes 1x28x28 or 3x32x32', () => {
    const grey = new Uint8Array(3 * 4).fill(100);
    grey[5] = 110; // a channel off by JPEG's noise
    expect(hasColour(grey)).toBe(false);
    const colour = grey.slice();
    colour[8] = 200;
    expect(hasColour(colour)).toBe(true);
    expect(treeInputShape(false)).toEqual([1, 28, 28]);
    expect(treeInputShape(true)).toEqual([3, 32, 32]);
  });

  test('spread picks evenly over the whole list, or all of a short one', () => {
    expect(spread(3, 16)).toEqual([0, 1, 2]);
    expect(spread(100, 4)).toEqual([12, 37, 62, 87]);
  });

  test('a decoded size over the budget says how many images fit', () => {
    expect(decodedSizeProblem(1000, [3, 32, 32], 512 * 1024 ** 2, "this page's budget")).toBeUndefined();
    expect(decodedSizeProblem(200_000, [3, 32, 32], 512 * 1024 ** 2, "this page's budget")).toBe(
      '200,000 images at [3,32,32] take 585.9 MB decoded; ' +
        "this page's budget, 512.0 MB, holds 174,762: use fewer images or a smaller input",
    );
  });
});

describe('dataDefaults', () => {
  const split = (channels: number) => ({
    images: new Uint8Array(channels * 4).map((_, i) => i * 10),
    labels: new Uint8Array(1),
    count: 1,
    shape: [channels, 2, 2],
  });

  test("the bundled MNIST keeps MNIST's constants; other data its own statistics; colour gets crop and flip", () => {
    expect(dataDefaults(split(1), { bundledMnist: true })).toEqual({ augment: { rotate: 7, shift: 2 } });
    const colour = dataDefaults(split(3), { bundledMnist: false });
    expect(colour.augment).toEqual({ rotate: 0, shift: 4, flip: true });
    expect(colour.normalize?.mean).toHaveLength(3);
    expect(dataDefaults(split(3), { bundledMnist: false, augment: null }).augment).toBeNull();
  });
});

/**
 * How a camera stores an upright picture under each EXIF orientation tag (1-8), written on raw
 * one-channel pixels so the tests do not rely on the decoder under test. Each tag names the
 * transform a viewer applies to the stored pixels to show them upright (tag 6: rotate 90
 * degrees clockwise), so the stored image is the upright one transformed the other way.
 */
import sharp from 'sharp';

export interface GreyImage {
  width: number;
  height: number;
  /** width * height bytes, row by row. */
  data: Uint8Array;
}

export const TAGS = [1, 2, 3, 4, 5, 6, 7, 8] as const;

/**
 * Where the viewer shows stored pixel (x, y) of a stored w x h image, per tag (EXIF 2.3,
 * Orientation: tag 6 = "the 0th row is the visual right-hand side, the 0th column the visual top").
 */
const DISPLAY: Record<number, (x: number, y: number, w: number, h: number) => [number, number]> = {
  1: (x, y) => [x, y],
  2: (x, y, w) => [w - 1 - x, y], // mirrored left-right
  3: (x, y, w, h) => [w - 1 - x, h - 1 - y], // rotated 180
  4: (x, y, _w, h) => [x, h - 1 - y], // mirrored top-bottom
  5: (x, y) => [y, x], // transposed
  6: (x, y, _w, h) => [h - 1 - y, x], // rotated 90 clockwise
  7: (x, y, w, h) => [h - 1 - y, w - 1 - x], // transversed
  8: (x, y, w) => [y, w - 1 - x], // rotated 90 counter-clockwise
};

/** The pixels a camera stores for `upright` under orientation `tag`. */
export function storedFor(tag: number, upright: GreyImage): GreyImage {
  const swap = tag >= 5;
  const width = swap ? upright.height : upright.width;
  const height = swap ? upright.width : upright.height;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [dx, dy] = DISPLAY[tag](x, y, width, height);
      data[y * width + x] = upright.data[dy * upright.width + dx];
    }
  }
  return { width, height, data };
}

/** A JPEG of the pixels, with the EXIF orientation tag when given. */
export function jpegWith(image: GreyImage, orientation?: number): Promise<Buffer> {
  const s = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } }).jpeg({ quality: 95 });
  return (orientation === undefined ? s : s.withMetadata({ orientation })).toBuffer();
}

/** Test digit pixels (white on black, 28x28) as an upright black-on-white photo, not square. */
export async function paperDigit(mnist: Buffer): Promise<GreyImage> {
  const inverted = Buffer.from(mnist.map((v) => 255 - v));
  // Two pipelines: within one, sharp resizes before it extends, whatever the call order.
  const framed = await sharp(inverted, { raw: { width: 28, height: 28, channels: 1 } })
    .extend({ top: 1, bottom: 3, left: 2, right: 10, background: '#ffffff' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { data, info } = await sharp(framed.data, {
    raw: { width: framed.info.width, height: framed.info.height, channels: 1 },
  })
    .resize(120, 96)
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

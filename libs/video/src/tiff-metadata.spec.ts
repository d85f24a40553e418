import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import { chooseChannel } from './container-metadata';
import { parseImageJDescription, parseOmeXml, planTiffVideo } from './tiff-metadata';
import { bufferSource, readTiffStructure } from './tiff-reader';
import { encodeTiff } from './tiff-writer';

const FIXTURES = path.join(__dirname, '__fixtures__', 'ome-tiff');

/** A minimal OME-XML document of one image; `pixels` and `inner` fill in the Pixels element. */
function omeXml(pixels: string, inner = '', images = 1): string {
  const image = (i: number): string => `<Image ID="Image:${i}"><Pixels ID="Pixels:${i}" Type="uint16" SizeX="4" SizeY="3" ${pixels}>${inner}</Pixels></Image>`;
  return `<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">${Array.from({ length: images }, (_, i) => image(i)).join('')}</OME>`;
}

const sizes = (t: number, c: number, z: number, order = 'XYZCT'): string => `DimensionOrder="${order}" SizeT="${t}" SizeC="${c}" SizeZ="${z}"`;

describe('parseOmeXml', () => {
  it('maps planes to pages by DimensionOrder, the first letter after XY fastest', () => {
    const czt = parseOmeXml('a.ome.tif', omeXml(sizes(3, 2, 4, 'XYCZT')), 24);
    expect(czt.pageIndex(0, 1, 0)).toBe(1);
    expect(czt.pageIndex(0, 0, 1)).toBe(2);
    expect(czt.pageIndex(1, 0, 0)).toBe(8);
    expect(czt.pageIndex(2, 1, 3)).toBe(1 + 2 * 3 + 8 * 2);
    const tcz = parseOmeXml('a.ome.tif', omeXml(sizes(3, 2, 4, 'XYTCZ')), 24);
    expect(tcz.pageIndex(1, 0, 0)).toBe(1);
    expect(tcz.pageIndex(0, 1, 0)).toBe(3);
    expect(tcz.pageIndex(0, 0, 1)).toBe(6);
  });

  it('converts physical sizes to micrometres and the time increment to seconds, defaults µm and s', () => {
    const physical = (attributes: string): unknown => parseOmeXml('a.ome.tif', omeXml(`${sizes(1, 1, 1)} ${attributes}`), 1).physical;
    expect(physical('PhysicalSizeX="0.5" PhysicalSizeY="0.25" TimeIncrement="30"')).toEqual({ pixelSizeUm: { y: 0.25, x: 0.5 }, frameIntervalS: 30 });
    expect(physical('PhysicalSizeX="650" PhysicalSizeXUnit="nm" PhysicalSizeY="0.002" PhysicalSizeYUnit="mm"')).toEqual({ pixelSizeUm: { y: 2, x: 0.65 } });
    expect(physical('PhysicalSizeX="1" PhysicalSizeXUnit="μm" PhysicalSizeY="1" PhysicalSizeYUnit="µm"')).toEqual({ pixelSizeUm: { y: 1, x: 1 } });
    expect(physical('TimeIncrement="250" TimeIncrementUnit="ms"')).toEqual({ frameIntervalS: 0.25 });
    expect(physical('TimeIncrement="2" TimeIncrementUnit="min"')).toEqual({ frameIntervalS: 120 });
    expect(physical('TimeIncrement="1.5" TimeIncrementUnit="h"')).toEqual({ frameIntervalS: 5400 });
    // Units that are no length, a size 0 and one side only say nothing.
    expect(physical('PhysicalSizeX="1" PhysicalSizeXUnit="pixel" PhysicalSizeY="1" PhysicalSizeYUnit="pixel" TimeIncrement="0"')).toBeUndefined();
    expect(physical('PhysicalSizeX="1"')).toBeUndefined();
    expect(() => physical('PhysicalSizeX="wide" PhysicalSizeY="1"')).toThrow(/a\.ome\.tif: OME-XML Pixels PhysicalSizeX="wide" is not a positive number/);
  });

  it('names channels by their Name, by index where there is none', () => {
    const inner = '<Channel ID="Channel:0:0" Name="phase" SamplesPerPixel="1"/><Channel ID="Channel:0:1"/><Channel ID="Channel:0:2" Name="mCherry"/>';
    expect(parseOmeXml('a.ome.tif', omeXml(sizes(1, 3, 1), inner), 3).channels).toEqual(['phase', '1', 'mCherry']);
    expect(parseOmeXml('a.ome.tif', omeXml(sizes(1, 2, 1)), 2).channels).toEqual(['0', '1']);
  });

  it('reads namespace-prefixed elements', () => {
    const xml =
      '<ome:OME xmlns:ome="http://www.openmicroscopy.org/Schemas/OME/2016-06"><ome:Image ID="Image:0"><ome:Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" SizeX="4" SizeY="3" SizeT="2" SizeC="1" SizeZ="1" PhysicalSizeX="2" PhysicalSizeY="2"><ome:Channel ID="Channel:0:0" Name="BF"/></ome:Pixels></ome:Image></ome:OME>';
    expect(parseOmeXml('p.ome.tif', xml, 2)).toMatchObject({ sizeT: 2, channels: ['BF'], physical: { pixelSizeUm: { y: 2, x: 2 } } });
  });

  it('follows TiffData: pages from IFD to planes from FirstT/FirstC/FirstZ', () => {
    // Bio-Formats writes one TiffData per plane; here channel-major pages in a CZT image.
    const inner = [0, 1, 2, 3].map((ifd) => `<TiffData IFD="${ifd}" FirstC="${ifd >> 1}" FirstT="${ifd & 1}" PlaneCount="1"/>`).join('');
    const layout = parseOmeXml('b.ome.tif', omeXml(sizes(2, 2, 1, 'XYCZT'), inner), 4);
    expect([0, 1].flatMap((c) => [0, 1].map((t) => layout.pageIndex(t, c, 0)))).toEqual([0, 1, 2, 3]);
    const uuid = '<TiffData IFD="0" PlaneCount="2"><UUID FileName="b.ome.tif">urn:uuid:1</UUID></TiffData>';
    expect(parseOmeXml('/data/b.ome.tif', omeXml(sizes(2, 1, 1), uuid), 2).pageIndex(1, 0, 0)).toBe(1);
  });

  it('refuses truncated, inconsistent and unsupported OME-XML with InvalidInputError naming the file', () => {
    const good = omeXml(sizes(2, 2, 1));
    const refuse = (xml: string, pages: number, message: RegExp): void => {
      expect(() => parseOmeXml('/data/bad.ome.tif', xml, pages)).toThrow(InvalidInputError);
      expect(() => parseOmeXml('/data/bad.ome.tif', xml, pages)).toThrow(message);
    };
    refuse(good.slice(0, good.length - 20), 4, /\/data\/bad\.ome\.tif: OME-XML is not well-formed .*truncated or corrupt OME-TIFF/);
    refuse(good, 5, /SizeT 2 x SizeC 2 x SizeZ 1 = 4 planes but the file has 5 pages/);
    refuse(omeXml(sizes(2, 2, 1), '', 2), 8, /holds 2 images \(series\); only single-image OME-TIFFs are read/);
    refuse(omeXml(sizes(2, 0, 1)), 0, /SizeC="0" is not a positive integer/);
    refuse(omeXml(sizes(2, 2, 1, 'XYQZT')), 4, /DimensionOrder="XYQZT" is not one of/);
    refuse(omeXml('SizeT="2" SizeC="1" SizeZ="1"'), 2, /Pixels has no DimensionOrder/);
    refuse(omeXml(sizes(1, 1, 1), '<Channel ID="Channel:0:0" SamplesPerPixel="3"/>'), 1, /Channel 0 has 3 samples per pixel/);
    refuse(
      omeXml(sizes(2, 1, 1), '<TiffData IFD="0" PlaneCount="1"><UUID FileName="other.ome.tif">urn:uuid:2</UUID></TiffData>'),
      2,
      /places planes in another file \(other\.ome\.tif\)/,
    );
    refuse(omeXml(sizes(2, 1, 1), '<TiffData IFD="0" PlaneCount="1"/>'), 2, /leave plane 1 of 2 without a page/);
    refuse(omeXml(sizes(2, 1, 1), '<TiffData IFD="1" PlaneCount="2"/>'), 2, /maps pages 2\.\.3 but the file has 2 pages/);
    refuse('<OME><BinaryOnly MetadataFile="x.companion.ome" UUID="u"/></OME>', 1, /companion file/);
  });
});

describe('parseImageJDescription', () => {
  it('reads a hyperstack in CZT order, its interval and resolution', () => {
    const text = 'ImageJ=1.54f\nimages=12\nchannels=2\nslices=3\nframes=2\nhyperstack=true\nunit=micron\nfinterval=1.5\ntunit=min\n';
    const layout = parseImageJDescription('h.tif', text, 12, { x: 4, y: 2 });
    expect(layout).toMatchObject({ format: 'imagej', sizeT: 2, sizeC: 2, sizeZ: 3, channels: ['0', '1'], physical: { pixelSizeUm: { y: 0.5, x: 0.25 }, frameIntervalS: 90 } });
    expect(layout.pageIndex(0, 1, 0)).toBe(1);
    expect(layout.pageIndex(0, 0, 1)).toBe(2);
    expect(layout.pageIndex(1, 1, 2)).toBe(11);
  });

  it('reads a plain stack as frames: images=N alone, or slices without hyperstack', () => {
    expect(parseImageJDescription('p.tif', 'ImageJ=1.54f\nimages=5\n', 5)).toMatchObject({ sizeT: 5, sizeC: 1, sizeZ: 1 });
    expect(parseImageJDescription('p.tif', 'ImageJ=1.54f\nimages=5\nslices=5\n', 5)).toMatchObject({ sizeT: 5, sizeZ: 1 });
    expect(parseImageJDescription('p.tif', 'ImageJ=1.54f\nimages=5\nslices=5\nhyperstack=true\n', 5)).toMatchObject({ sizeT: 1, sizeZ: 5 });
  });

  it('converts the escaped µ and leaves out a pixel size without a unit', () => {
    expect(parseImageJDescription('u.tif', 'ImageJ=1.54f\nimages=1\nunit=\\u00B5m\n', 1, { x: 2 }).physical).toEqual({ pixelSizeUm: { y: 0.5, x: 0.5 } });
    expect(parseImageJDescription('u.tif', 'ImageJ=1.54f\nimages=1\nunit=nm\n', 1, { x: 0.01, y: 0.01 }).physical).toEqual({ pixelSizeUm: { y: 0.1, x: 0.1 } });
    expect(parseImageJDescription('u.tif', 'ImageJ=1.54f\nimages=1\n', 1, { x: 2 }).physical).toBeUndefined();
    expect(parseImageJDescription('u.tif', 'ImageJ=1.54f\nimages=1\nfinterval=0.5\n', 1).physical).toEqual({ frameIntervalS: 0.5 });
  });

  it('refuses counts that disagree with each other or with the pages', () => {
    expect(() => parseImageJDescription('/d/x.tif', 'ImageJ=1.54f\nimages=6\nchannels=2\nframes=2\n', 6)).toThrow(
      /\/d\/x\.tif: ImageJ description says channels 2 x slices 1 x frames 2 but images=6/,
    );
    expect(() => parseImageJDescription('/d/x.tif', 'ImageJ=1.54f\nimages=6\nchannels=2\nframes=3\n', 1)).toThrow(
      /images=6 but the file has 1 pages; ImageJ's contiguous raw layout/,
    );
    expect(() => parseImageJDescription('/d/x.tif', 'ImageJ=1.54f\nimages=two\n', 2)).toThrow(InvalidInputError);
  });
});

describe('chooseChannel', () => {
  it('picks by name, by index and by an index given as text; lists the names otherwise', () => {
    const channels = ['phase', 'GFP'];
    expect(chooseChannel('f', channels, undefined)).toBe(0);
    expect(chooseChannel('f', channels, 'GFP')).toBe(1);
    expect(chooseChannel('f', channels, 1)).toBe(1);
    expect(chooseChannel('f', channels, '1')).toBe(1);
    expect(() => chooseChannel('f', channels, 'DAPI')).toThrow(/f: no channel named "DAPI"; channels are 0: phase, 1: GFP/);
    expect(() => chooseChannel('f', channels, 2)).toThrow(InvalidInputError);
  });
});

describe('planTiffVideo', () => {
  it('plans every page of a plain TIFF, no channels; refuses a channel other than 0', async () => {
    const bytes = encodeTiff([0, 1, 2].map((v) => ({ width: 2, height: 2, data: Uint8Array.of(v, v, v, v) })));
    const tiff = await readTiffStructure(bufferSource(bytes, 'plain.tif'));
    const plan = planTiffVideo(tiff);
    expect(plan.frames.map((page) => page.page)).toEqual([1, 2, 3]);
    expect(plan).not.toHaveProperty('channels');
    expect(planTiffVideo(tiff, { channel: 0 }).frames).toHaveLength(3);
    expect(() => planTiffVideo(tiff, { channel: 'GFP' })).toThrow(/plain\.tif: a TIFF without OME-XML or ImageJ metadata holds one channel; no channel "GFP"/);
  });

  it('plans one page per time point of the chosen channel and the middle z slice', async () => {
    const file = path.join(FIXTURES, 't2-c2-z3-uint16.ome.tif');
    const tiff = await readTiffStructure(bufferSource(new Uint8Array(await readFile(file)), file));
    // DimensionOrder XYZTC: z fastest, then t, then c; middle z is 1.
    expect(planTiffVideo(tiff).frames.map((page) => page.page)).toEqual([2, 5]);
    expect(planTiffVideo(tiff, { channel: 'phase' }).frames.map((page) => page.page)).toEqual([8, 11]);
  });
});

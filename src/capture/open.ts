/**
 * openCapture: sniff the first four bytes and hand the file to the pcap or
 * pcapng reader. Every fault in the file's header is a CaptureFormatError.
 */
import { ChunkSource, DEFAULT_CHUNK } from './chunk-source.js';
import { CaptureFormatError } from './errors.js';
import { PcapReader } from './pcap-reader.js';
import { BT_SHB, PcapngReader } from './pcapng-reader.js';
import type { CaptureReader, OpenCaptureOptions } from './record.js';

export function openCapture(path: string, opts: OpenCaptureOptions = {}): CaptureReader {
  const src = new ChunkSource(path, opts.chunkSize ?? DEFAULT_CHUNK);
  try {
    if (!src.ensure(4)) {
      throw new CaptureFormatError(0, `short file: ${src.presentFrom(0)} bytes, too small for any capture header`);
    }
    const magic = src.view.getUint32(0, true);
    const any = opts.allowAnyLinkType === true;
    return magic === BT_SHB ? new PcapngReader(src, any) : new PcapReader(src, any);
  } catch (e) {
    src.close();
    throw e;
  }
}

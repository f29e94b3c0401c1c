/** Capture files: streaming pcap/pcapng reader and pcap writer. */
export { openCapture } from './open.js';
export { CaptureReader, CaptureRecord, MAX_CAPLEN, type OpenCaptureOptions } from './record.js';
export { CaptureFormatError, LINKTYPE_ETHERNET, linkTypeName } from './errors.js';
export { PcapReader } from './pcap-reader.js';
export { PcapngReader } from './pcapng-reader.js';
export { PcapWriter, type PcapWriterOptions } from './pcap-writer.js';

/**
 * Capture-file faults. Every corrupt or truncated file ends in ONE
 * CaptureFormatError naming the byte offset of the fault; the reader throws it
 * only after every good record before the fault has been returned.
 */
export class CaptureFormatError extends Error {
  /** Byte offset in the file where the bad header/block/record starts. */
  readonly offset: number;
  constructor(offset: number, what: string) {
    super(`${what} at byte offset ${offset}`);
    this.name = 'CaptureFormatError';
    this.offset = offset;
  }
}

/** Names of common LINKTYPE_ values (tcpdump.org/linktypes.html), for error messages. */
const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'ETHERNET',
  6: 'IEEE802_5',
  8: 'SLIP',
  9: 'PPP',
  101: 'RAW',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  108: 'LOOP',
  113: 'LINUX_SLL',
  127: 'IEEE802_11_RADIOTAP',
  147: 'USER0',
  192: 'PPI',
  195: 'IEEE802_15_4',
  220: 'USB_LINUX_MMAPPED',
  228: 'IPV4',
  229: 'IPV6',
  249: 'NETLINK',
  276: 'LINUX_SLL2',
};

export const LINKTYPE_ETHERNET = 1;

export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES[linkType] ?? 'unknown';
}

export function unsupportedLinkType(offset: number, linkType: number): CaptureFormatError {
  return new CaptureFormatError(
    offset,
    `link type ${linkType} (${linkTypeName(linkType)}) is not supported: vtepd reads Ethernet (1) captures`,
  );
}

export { CaptureFileError } from './errors.js';
export type {
  CaptureInterface,
  CaptureReader,
  CaptureReaderOptions,
  InterfaceStats,
} from './capture-reader.js';
export { DEFAULT_MAX_CAPLEN } from './capture-reader.js';
export { openCaptureReader } from './open-capture.js';
export {
  PcapReader,
  PCAP_MAGIC_US,
  PCAP_MAGIC_NS,
  PCAP_FILE_HEADER_LEN,
  PCAP_RECORD_HEADER_LEN,
} from './pcap-reader.js';
export { PcapngReader } from './pcapng-reader.js';
export type { PcapngSection } from './pcapng-reader.js';
export { pcapFileHeader, pcapRecordLength, writePcapRecord, PcapWriter } from './pcap-writer.js';
export type { PcapHeaderOptions, PcapWriterOptions } from './pcap-writer.js';
export {
  pcapngSectionHeader,
  pcapngInterfaceDescription,
  pcapngInterfaceStatistics,
  enhancedPacketBlockLength,
  writeEnhancedPacketBlock,
  PcapngWriter,
} from './pcapng-writer.js';
export type {
  PcapngSectionOptions,
  PcapngInterfaceOptions,
  PcapngStatisticsOptions,
  PcapngWriterOptions,
} from './pcapng-writer.js';
export { ticksToTime, timeToTicks, tsResolution, TSRESOL_US, TSRESOL_NS } from './timestamps.js';
export type { TsResolution } from './timestamps.js';

export * from './tag';
export * from './model';
export * from './values';
export { vrOf, keywordOf, tagOf } from './dictionary';
export { describeTransferSyntax, acceptsTransferSyntax, type TransferSyntax } from './transfer-syntax';
export { parseInstanceFile, parseInstanceBuffer, openInstanceFile, DicomParseError, DicomLimitExceeded, DicomReaderDefect, type ParsedInstance } from './parse';
export { DEFAULT_PARSE_LIMITS, BULK_VALUE_BYTES, type ParseLimits } from './limits';
export { encodeInstance, encodeFileMeta, writePieces, type EncodedPiece } from './write';
export { TruncatedDataError, clearFiles, type InstanceFiles, type ByteSource } from './source';

export * from './tag';
export * from './model';
export * from './values';
export { vrOf, keywordOf, tagOf } from './dictionary';
export { describeTransferSyntax, type TransferSyntax } from './transfer-syntax';
export { parseInstanceFile, parseInstanceBuffer, DicomParseError, type ParsedInstance } from './parse';
export { encodeInstance, encodeFileMeta, writePieces, type EncodedPiece } from './write';
export { TruncatedDataError } from './source';

// tar for drkit's archives: a writer of ustar headers (pax when a field does not fit), a reader of
// what it, GNU tar and bsdtar write, and a reader that goes on past damage. File names are bytes.
export { ByteReader } from './byte-reader.js';
export { TarErrorCode, TarFormatError } from './errors.js';
export { decodeName, encodeName, fsPath, hasEscapedBytes } from './names.js';
export { readTar, type TarEntry } from './read.js';
export { type Piece, type SalvagedTarEntry, salvageTar, type Span, type Trusted } from './salvage.js';
export { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader, type TarType } from './write.js';

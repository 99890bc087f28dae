export { renderThumbnail, PreviewUnavailable, MAX_PREVIEW_BYTES, type Thumbnail } from './thumbnail';
export { readHeader } from './header';
export { encodePng } from './png';

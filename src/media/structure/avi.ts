/**
 * AVI: a RIFF 'AVI ' form starting with the 'LIST' hdrl header chunk, then the 'movi' list
 * and usually an 'idx1' index. OpenDML files past 1 GiB continue in further RIFF 'AVIX'
 * forms appended after the first. Every form must fit in the file and nothing else may
 * follow them: sizes that stop short of the file's end point at damage, as with MP4.
 */
import { readRiffHeader, walkRiffBody } from './riff.js';
import { read, type FormatRule, type FormatWalk, type Position } from './walk.js';

/** OpenDML writers cut a new RIFF every ~1 GiB; a million of them is far past any upload. */
const MAX_FORMS = 1_000_000;

function* walkAvi(at: Position): FormatWalk {
  const bodySize = yield* readRiffHeader('AVI', 'AVI ');
  if (typeof bodySize === 'string') return bodySize;
  const chunks = yield* walkRiffBody('AVI', bodySize, at, (fourcc, index) =>
    index === 0 && fourcc !== 'LIST' ? 'AVI does not start with its header list' : null,
  );
  if (typeof chunks === 'string') return chunks;
  for (let forms = 0; forms < MAX_FORMS; forms++) {
    const header = yield* read(12);
    if (header.length === 0) return null;
    if (header.length < 12 || header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'AVIX') {
      return 'AVI has data after the end of its RIFF container';
    }
    const size = header.readUInt32LE(4);
    if (size < 4) return 'AVI RIFF size is invalid';
    const extension = yield* walkRiffBody('AVI', size - 4, at, () => null);
    if (typeof extension === 'string') return extension;
  }
  return 'AVI has too many RIFF extensions';
}

export const aviRule: FormatRule = {
  container: 'avi',
  sniff: (head) => head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'AVI ',
  walk: walkAvi,
};

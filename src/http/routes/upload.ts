import { removeFile } from '../../ingest/temp-file.js';
import type { FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { receiveToTempFile, type ReceivedFile } from '../../ingest/receive.js';
import type { UndoList } from '../../ingest/undo.js';
import { watchFileName } from '../part-filename.js';

/**
 * Reads a multipart body that must hold exactly one file part (under any field name; the
 * published name is `Filename`) into a temp file. Other fields are ignored. The whole body is read
 * before anything is stored, so a second file part refuses the upload before it costs anything.
 */
export async function receiveSingleFile(
  request: FastifyRequest,
  tempDir: string,
  maxUploadBytes: number,
  undo: UndoList,
): Promise<{ received: ReceivedFile; filename: string | undefined }> {
  if (!request.isMultipart()) throw errors.noFile();
  const declared = Number(request.headers['content-length']);
  // Refuse an obviously oversized body from its header, before reading a byte (64 KiB of slack for the multipart framing).
  if (Number.isFinite(declared) && declared > maxUploadBytes + 64 * 1024) throw errors.tooLarge(maxUploadBytes);

  // The file part's name is re-read from its raw header (part-filename.ts): the body is watched from
  // here, the tick request.parts() pipes it to busboy, until that part arrives.
  const names = watchFileName(request.raw, request.headers['content-type']);
  let got: { received: ReceivedFile; filename: string | undefined } | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (got !== null) {
        part.file.resume();
        throw errors.tooManyFiles();
      }
      const filename = names.nameOf(part.filename);
      const received = await receiveToTempFile(part.file, tempDir, Number.isFinite(declared) ? declared : 0);
      undo.add(() => removeFile(received.path));
      if (part.file.truncated) throw errors.tooLarge(maxUploadBytes);
      got = { received, filename };
    }
  } finally {
    names.stop();
  }
  if (got === null) throw errors.noFile();
  return got;
}

/**
 * Structural validation of uploads, fed the same chunks as the hashing pass so corrupt or
 * truncated media is caught without decoding it. Each format's walker reads headers and
 * steps over payloads, so a 1 GiB video costs a few hundred header reads.
 *
 * Trailing data: containers whose extent is given by sizes (MP4/MOV/HEIF/AVIF boxes, RIFF for
 * WebP and AVI, EBML) must end exactly where their sizes say — bytes past that are refused.
 * Formats with an end marker (PNG IEND, JPEG EOI, GIF trailer) accept anything after it:
 * cameras append preview images (MPF) and vendor trailers there. BMP and TIFF are checked by
 * the offsets they declare and ignore bytes nothing points at.
 */
import { aviRule } from './avi.js';
import { bmpRule } from './bmp.js';
import { ebmlRule } from './ebml.js';
import { gifRule } from './gif.js';
import { isobmffRule } from './isobmff.js';
import { jpegRule } from './jpeg.js';
import { pngRule } from './png.js';
import { tiffRule } from './tiff.js';
import { StreamWalk, type FormatRule } from './walk.js';
import { webpRule } from './webp.js';

export type Container = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | 'tiff' | 'isobmff' | 'ebml' | 'avi' | 'unknown';

export type StructureVerdict =
  | { ok: true; container: Container }
  | { ok: false; container: Container; reason: string };

export interface StructureChecker {
  /** Next chunk of the file, in order. Chunks can be any size (1 byte to MBs) and split anywhere. Never throws. */
  update(chunk: Buffer): void;
  /**
   * Called once after the last chunk, with the complete temp file (for formats needing random
   * access, e.g. TIFF IFD offsets). Rejects only if that file cannot be read.
   */
  finish(file: { path: string; size: number }): Promise<StructureVerdict>;
}

const RULES: readonly FormatRule[] = [pngRule, jpegRule, gifRule, webpRule, aviRule, bmpRule, tiffRule, isobmffRule, ebmlRule];

/** Enough for every signature above: RIFF needs its form type at bytes 8–11. */
const HEAD_BYTES = 12;

/** Names used in reasons; the ISO-BMFF and EBML walkers refine theirs from the brand / DocType. */
const LABELS: Record<Container, string> = {
  png: 'PNG', jpeg: 'JPEG', gif: 'GIF', webp: 'WebP', bmp: 'BMP', tiff: 'TIFF',
  isobmff: 'MP4', ebml: 'WebM', avi: 'AVI', unknown: 'file',
};

export function createStructureChecker(): StructureChecker {
  return new SniffingChecker();
}

class SniffingChecker implements StructureChecker {
  /** Chunks held until the signature is known; only while fewer than HEAD_BYTES have arrived. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private rule: FormatRule | null | undefined;
  private walk: StreamWalk | undefined;

  update(chunk: Buffer): void {
    if (this.rule === undefined) {
      this.heldBytes += chunk.length;
      // Chunks are only read during update(), except these few held bytes: the caller may reuse its buffers.
      this.held.push(this.heldBytes >= HEAD_BYTES ? chunk : Buffer.from(chunk));
      if (this.heldBytes >= HEAD_BYTES) this.decide();
    } else {
      this.walk?.push(chunk);
    }
  }

  async finish(file: { path: string; size: number }): Promise<StructureVerdict> {
    if (this.rule === undefined) this.decide();
    const rule = this.rule;
    if (!rule || !this.walk) return { ok: true, container: 'unknown' };
    const container = rule.container;
    const reason = this.walk.end() ?? (rule.check ? await rule.check(file) : null);
    return reason === null ? { ok: true, container } : { ok: false, container, reason };
  }

  private decide(): void {
    const head = Buffer.concat(this.held, Math.min(this.heldBytes, HEAD_BYTES));
    const rule = RULES.find((r) => r.sniff(head)) ?? null;
    this.rule = rule;
    if (rule) {
      this.walk = new StreamWalk((at) => rule.walk(at), LABELS[rule.container]);
      for (const chunk of this.held) this.walk.push(chunk);
    }
    this.held = [];
  }
}

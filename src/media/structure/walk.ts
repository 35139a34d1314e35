/**
 * The streaming half of structure checking. Each format is written as a generator that asks
 * for bytes — read a few, skip many, CRC a run, scan for a marker — and `StreamWalk` answers
 * from whatever chunks arrive. Walkers never see chunk boundaries; the driver keeps no more
 * than the largest single read, so the cost follows the file's structure, not its size.
 */
import { crc32 } from 'node:zlib';
import type { Container } from './index.js';

/**
 * Where a scan stops inside `buf` (searching from `from`): the index of the first byte that is
 * not part of the scan, or -1 if the whole rest of `buf` belongs to it. Called once per chunk,
 * so a scanner keeps its own state across calls.
 */
export type Scanner = (buf: Buffer, from: number) => number;

export type Need =
  | { kind: 'read'; n: number }
  | { kind: 'skip'; n: number }
  | { kind: 'crc'; n: number; crc: number }
  | { kind: 'scan'; scanner: Scanner };

/** A walker step: yields needs, is resumed with their answer, returns its result. */
export type Walk<T> = Generator<Need, T, Buffer | number | boolean>;
/** A format walker returns null when the structure is sound, otherwise the reason it is not. */
export type FormatWalk = Walk<string | null>;

export interface Position {
  /** Bytes of the file the walker has consumed so far (the file size, once it has ended). */
  readonly offset: number;
}

export interface FormatRule {
  container: Container;
  /** Whether the first bytes (12, fewer only for tiny files) carry this format's signature. */
  sniff(head: Buffer): boolean;
  walk(at: Position): FormatWalk;
  /** A second pass over the complete file, for formats whose structure is found by offsets. */
  check?(file: { path: string; size: number }): Promise<string | null>;
}

/** Exactly `n` bytes; fewer only when the file ends first. The buffer is only valid until the next yield. */
export function* read(n: number): Walk<Buffer> {
  return (yield { kind: 'read', n }) as Buffer;
}

/** Steps over `n` bytes without looking at them; false when the file ends first. */
export function* skip(n: number): Walk<boolean> {
  return (yield { kind: 'skip', n }) as boolean;
}

/** Steps over `n` bytes, continuing the running CRC-32 `crc`; -1 when the file ends first. */
export function* crcOver(n: number, crc: number): Walk<number> {
  return (yield { kind: 'crc', n, crc }) as number;
}

/** Consumes bytes until `scanner` stops; false when the file ends first. */
export function* scan(scanner: Scanner): Walk<boolean> {
  return (yield { kind: 'scan', scanner }) as boolean;
}

/**
 * A hostile file made of millions of tiny parts must not keep an upload busy (a step costs
 * ~0.3 µs). Real files stay far below: an hour of per-frame fragmented MP4 takes ~450k steps,
 * a PNG ~3 per 8 KiB IDAT chunk, a GIF ~8 per frame.
 */
const MAX_STEPS = 1_000_000;

export class StreamWalk implements Position {
  offset = 0;
  /** null: sound; string: the reason it is not; undefined: still walking. */
  private result: string | null | undefined;
  private need: Need | undefined;
  private left = 0;
  private crc = 0;
  private partial: Buffer | undefined;
  private filled = 0;
  private steps = 0;
  private ended = false;
  private readonly gen: FormatWalk;

  constructor(
    walk: (at: Position) => FormatWalk,
    private readonly label: string,
  ) {
    this.gen = walk(this);
    this.resume(true);
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (this.need !== undefined && pos < chunk.length) {
      const need = this.need;
      const avail = chunk.length - pos;
      if (need.kind === 'read') {
        if (this.filled === 0 && avail >= need.n) {
          this.offset += need.n;
          pos += need.n;
          this.resume(chunk.subarray(pos - need.n, pos));
          continue;
        }
        this.partial ??= Buffer.allocUnsafe(need.n);
        const take = Math.min(need.n - this.filled, avail);
        chunk.copy(this.partial, this.filled, pos, pos + take);
        this.filled += take;
        this.offset += take;
        pos += take;
        if (this.filled === need.n) this.resume(this.takePartial());
      } else if (need.kind === 'scan') {
        const stop = need.scanner(chunk, pos);
        const end = stop < 0 ? chunk.length : stop;
        this.offset += end - pos;
        pos = end;
        if (stop >= 0) this.resume(true);
      } else {
        const take = Math.min(this.left, avail);
        if (need.kind === 'crc') this.crc = crc32(chunk.subarray(pos, pos + take), this.crc);
        this.left -= take;
        this.offset += take;
        pos += take;
        if (this.left === 0) this.resume(need.kind === 'crc' ? this.crc : true);
      }
    }
  }

  /** Tells the walker the file has ended and returns its verdict. */
  end(): string | null {
    this.ended = true;
    if (this.need !== undefined) this.answerAtEnd(this.need);
    return this.result ?? null;
  }

  private takePartial(): Buffer {
    const got = this.partial?.subarray(0, this.filled) ?? Buffer.alloc(0);
    this.partial = undefined;
    this.filled = 0;
    return got;
  }

  private answerAtEnd(need: Need): void {
    if (need.kind === 'read') this.resume(this.takePartial());
    else this.resume(need.kind === 'crc' ? -1 : false);
  }

  /** Hands `answer` to the walker and takes its next need, answering empty needs at once. */
  private resume(answer: Buffer | number | boolean): void {
    for (;;) {
      if (++this.steps > MAX_STEPS) return this.stop(`${this.label} has too many parts to check`);
      let next: IteratorResult<Need, string | null>;
      try {
        next = this.gen.next(answer);
      } catch {
        return this.stop(`${this.label} structure could not be parsed`);
      }
      if (next.done) return this.stop(next.value);
      const need = next.value;
      this.need = need;
      if (need.kind === 'skip' || need.kind === 'crc') {
        this.left = need.n;
        this.crc = need.kind === 'crc' ? need.crc : 0;
        if (need.n <= 0) answer = need.kind === 'crc' ? need.crc : true;
        else if (this.ended) answer = need.kind === 'crc' ? -1 : false;
        else return;
      } else if (need.kind === 'read' && need.n <= 0) {
        answer = Buffer.alloc(0);
      } else if (this.ended) {
        answer = need.kind === 'read' ? this.takePartial() : false;
      } else {
        return;
      }
    }
  }

  private stop(result: string | null): void {
    this.result = result;
    this.need = undefined;
    this.partial = undefined;
  }
}

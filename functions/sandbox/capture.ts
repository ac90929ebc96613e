import { StringDecoder } from 'node:string_decoder';

/**
 * A command's output, bounded in memory: the first `headChars` characters and the last
 * `tailChars`, whatever the command prints. The tail buffer is trimmed whenever it grows past
 * twice its size, so memory stays O(head + tail) for any amount of output.
 */
export class OutputCapture {
  private readonly decoder = new StringDecoder('utf8');
  private head = '';
  private tail = '';
  private total = 0;

  constructor(
    private readonly headChars: number,
    private readonly tailChars: number,
  ) {}

  write(chunk: Buffer): void {
    this.add(this.decoder.write(chunk));
  }

  result(): { head: string; tail: string; omittedChars: number } {
    this.add(this.decoder.end());
    if (this.tail.length > this.tailChars) this.tail = this.tail.slice(-this.tailChars);
    return {
      head: this.head,
      tail: this.tail,
      omittedChars: this.total - this.head.length - this.tail.length,
    };
  }

  private add(text: string): void {
    if (text.length === 0) return;
    this.total += text.length;
    let rest = text;
    if (this.head.length < this.headChars) {
      const room = this.headChars - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    if (rest.length === 0) return;
    this.tail += rest.length > this.tailChars ? rest.slice(-this.tailChars) : rest;
    if (this.tail.length > 2 * this.tailChars) this.tail = this.tail.slice(-this.tailChars);
  }
}

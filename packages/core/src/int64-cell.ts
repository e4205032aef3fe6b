/**
 * @internal
 * @module
 */
/** An int64_t that native code reads and writes, kept as two 32-bit words so hot paths avoid BigInt. */
export class Int64Cell {
  /** Pass this to native code as the `int64_t *`. */
  readonly words = new Uint32Array(2);

  set(n: number): void {
    this.words[0] = n >>> 0;
    this.words[1] = Math.floor(n / 4294967296);
  }

  get(): number {
    return (this.words[1] as number) * 4294967296 + (this.words[0] as number);
  }
}

/**
 * A per-instrument table on the hot path: values by (exchange, symbol) without building or
 * looking up an `exchange:symbol` key, and with the last pair found remembered. A check chain,
 * a submit or a run of book events asks the same table for the same instrument several times in
 * a row; that repeat costs two string comparisons instead of three hash lookups.
 *
 * Entries are only added or replaced, never removed: the engine keeps every instrument, book,
 * position and open-order set it has seen for the life of the process. That is what lets a
 * caller keep a value it got (a book record, a position) and lets `values()` be a plain array.
 */
export class InstrumentMap<V> {
  // By symbol first: a symbol is rarely listed on more than one or two venues, so one hash
  // lookup and a short walk comparing exchange names find the entry.
  private readonly bySymbol = new Map<string, Entry<V>>();
  private readonly list: V[] = [];
  private memo: Entry<V> | undefined = undefined;

  get size(): number {
    return this.list.length;
  }

  get(exchange: string, symbol: string): V | undefined {
    let e = this.memo;
    if (e !== undefined && e.symbol === symbol && e.exchange === exchange) return e.value;
    e = this.bySymbol.get(symbol);
    while (e !== undefined && e.exchange !== exchange) e = e.next;
    if (e === undefined) return undefined;
    this.memo = e;
    return e.value;
  }

  has(exchange: string, symbol: string): boolean {
    return this.get(exchange, symbol) !== undefined;
  }

  /** Adds the pair, or replaces its value in place (its position in `values()` stays). */
  set(exchange: string, symbol: string, value: V): this {
    const first = this.bySymbol.get(symbol);
    let e = first;
    while (e !== undefined && e.exchange !== exchange) e = e.next;
    if (e === undefined) {
      e = { exchange, symbol, value, index: this.list.length, next: first };
      this.bySymbol.set(symbol, e);
      this.list.push(value);
    } else {
      e.value = value;
      this.list[e.index] = value;
    }
    return this;
  }

  /** Every value, in the order first added. The array is the table's own: read it, do not keep it across a `set`. */
  values(): readonly V[] {
    return this.list;
  }
}

interface Entry<V> {
  readonly exchange: string;
  readonly symbol: string;
  value: V;
  readonly index: number;
  readonly next: Entry<V> | undefined;
}

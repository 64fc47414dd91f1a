/**
 * Position tables built on first read. Most values of a large repository are never asked
 * where they came from, so every kind of position table (parsed offsets, merged maps,
 * shallow copies) defers building its two Maps until someone reads them.
 */
import type { Location } from '../diagnostics/index.js';

/** Origin of a container and of each entry in it. */
export interface ContainerLocs {
  /** Where the mapping or sequence starts. */
  self: Location;
  /** Entry key (or index) -> location of the key text (mappings) or item (sequences). */
  keys: Map<string | number, Location>;
  /** Entry key (or index) -> location of the value. */
  values: Map<string | number, Location>;
}

export type LocMap = Map<string | number, Location>;

export abstract class LazyLocs implements ContainerLocs {
  private k?: LocMap;
  private v?: LocMap;
  abstract get self(): Location;
  /** Build both tables; called once, on the first read. */
  protected abstract build(): { keys: LocMap; values: LocMap };
  /** True once the tables exist (writes can then go straight to them). */
  protected get built(): boolean {
    return this.k !== undefined;
  }
  private ensure(): void {
    if (this.k) return;
    const b = this.build();
    this.k = b.keys;
    this.v = b.values;
  }
  get keys(): LocMap {
    this.ensure();
    return this.k!;
  }
  get values(): LocMap {
    this.ensure();
    return this.v!;
  }
}

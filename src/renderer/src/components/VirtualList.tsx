import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A fixed-row-height virtual list: only the rows in view (plus a few) exist in the DOM, so 100,000 lines
 * scroll as smoothly as 100. Follows the end while the user is at the bottom.
 */
export function VirtualList<T>(props: {
  readonly items: ReadonlyArray<T>;
  /** Changes whenever `items` changed in place. */
  readonly version: number;
  readonly rowHeight: number;
  readonly renderRow: (item: T, index: number) => ReactNode;
  readonly label: string;
}) {
  const { items, version, rowHeight, renderRow, label } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const follow = useRef(true);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [version, items.length]);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight * 2;
    setScrollTop(el.scrollTop);
  }, [rowHeight]);

  useEffect(() => {
    const el = ref.current;
    if (el) setScrollTop(el.scrollTop);
  }, [version]);

  const overscan = 10;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const rows: ReactNode[] = [];
  // Keys are pool slots, not item indexes: when the window slides (new lines at the tail), React updates
  // the existing row elements instead of removing and creating ~60 nodes per batch.
  const pool = Math.ceil(height / rowHeight) + overscan * 2 + 1;
  for (let i = first; i < last; i++) {
    const item = items[i];
    if (item !== undefined) {
      rows.push(
        <div key={i % pool} role="listitem" className="vrow" style={{ top: i * rowHeight, height: rowHeight }}>
          {renderRow(item, i)}
        </div>,
      );
    }
  }
  return (
    <div ref={ref} className="vlist" onScroll={onScroll} tabIndex={0} aria-label={label}>
      <div role="list" aria-label={label} style={{ height: items.length * rowHeight, position: 'relative' }}>
        {rows}
      </div>
    </div>
  );
}

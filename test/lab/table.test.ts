import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { isTable, table } from '../../src/lab/table';

describe('table()', () => {
  it('aligns text columns: numbers right, strings left, header rule, title first', () => {
    const t = table(
      [
        { slot: 0, id: 7, state: 'posted' },
        { slot: 12, id: 1234, state: 'done' },
      ],
      { title: 'tx ring' },
    );
    expect(t.text).toBe(['tx ring', 'slot    id  state', '----  ----  ------', '   0     7  posted', '  12  1234  done'].join('\n'));
    expect(t.numeric).toEqual([true, true, false]);
    expect(isTable(t)).toBe(true);
    expect(inspect(t)).toBe(t.text);
  });

  it('renders escaped HTML with a caption and right-aligned numbers', () => {
    const t = table([{ name: '<b>&', n: 1n }], { title: 'a < b' });
    expect(t.html).toContain('<caption style="text-align:left;font-weight:bold">a &lt; b</caption>');
    expect(t.html).toContain('<td style="text-align:left">&lt;b&gt;&amp;</td>');
    expect(t.html).toContain('<td style="text-align:right">1</td>');
    expect(t.html).not.toContain('<b>&');
  });

  it('shows the chosen columns in order, blanks for missing values, bytes as hex', () => {
    const t = table([{ a: 1, b: new Uint8Array([0, 255]), c: null }, { a: 2 }], { columns: ['b', 'a', 'c'] });
    expect(t.columns).toEqual(['b', 'a', 'c']);
    expect(t.cells).toEqual([
      ['00 ff', '1', ''],
      ['', '2', ''],
    ]);
  });

  it('collects columns from every row in first-seen order', () => {
    expect(table([{ a: 1 }, { b: 2, a: 3 }]).columns).toEqual(['a', 'b']);
  });

  it('cuts long tables at maxRows and says how many are hidden', () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ i }));
    const t = table(rows, { maxRows: 2 });
    expect(t.cells).toHaveLength(2);
    expect(t.text.split('\n').at(-1)).toBe('… 3 more rows (5 in all)');
    expect(t.html).toContain('… 3 more rows (5 in all)');
    expect(table([]).text).toContain('(no rows)');
  });

  it('rejects bad input naming the parameter', () => {
    expect(() => table('x' as any)).toThrow('table(rows): rows must be an array of records, got string');
    expect(() => table([1] as any)).toThrow('table(rows): rows[0] must be a record (plain object), got number');
    expect(() => table([], { maxRows: 0 })).toThrow('table(options.maxRows): 0 is not allowed; use an integer from 1 to 100000');
    expect(() => table([], { columns: [1] as any })).toThrow(/table\(options.columns\)/);
  });
});

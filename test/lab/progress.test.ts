import { afterEach, describe, expect, it, vi } from 'vitest';
import { progress } from '../../src/lab/progress';
import { withFakeKernel } from './kernel-stub';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('progress()', () => {
  it('in a kernel: one display, then in-place updates only when the percentage or note changes', () => {
    withFakeKernel((sent) => {
      const p = progress(1000, { label: 'sim', unit: 'packets' });
      expect(p.displayId).toMatch(/^xen-netlab-progress-\d+-\d+$/);
      for (let i = 1; i <= 1000; i++) p.update(i);
      p.finish('done');
      expect(sent[0].update).toBe(false);
      expect(sent.slice(1).every((s) => s.update)).toBe(true);
      expect(new Set(sent.map((s) => s.transient.display_id))).toEqual(new Set([p.displayId]));
      // 0 % shown at start, then one update per percent (1..100), then the final note.
      expect(sent.length).toBe(102);
      expect(sent.at(-1)!.data['text/plain']).toBe('sim: 1000/1000 packets (100%) done');
      expect(sent.at(-1)!.data['text/html']).toContain('<progress value="1000" max="1000"');
    });
  });

  it('gives each progress display its own id', () => {
    withFakeKernel(() => {
      expect(progress(2).displayId).not.toBe(progress(2).displayId);
    });
  });

  it('outside a kernel: prints a line per 10 % and the finish', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const p = progress(20, { label: 'sweep' });
    expect(p.displayId).toBeNull();
    for (let i = 0; i < 20; i++) p.tick();
    p.finish();
    const lines = write.mock.calls.map((a) => String(a[0]));
    expect(lines[0]).toBe('sweep: 1/20 (5%)\n');
    expect(lines.filter((l) => l.includes('(100%)'))).toHaveLength(2);
    expect(lines.length).toBe(12);
    expect(p.value).toBe(20);
  });

  it('rejects a bad total or value, naming it', () => {
    expect(() => progress(0)).toThrow('progress(total): 0 is not allowed; use a positive integer (the number of steps)');
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(() => progress(5).update(6)).toThrow('progress.update(value): 6 is not allowed; use a number from 0 to 5');
    write.mockRestore();
  });
});

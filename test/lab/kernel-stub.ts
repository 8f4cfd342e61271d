/**
 * Test helper: makes this process look like a tslab kernel by putting a stand-in for
 * `tslab/dist/jupyter` (with a recording `lastWriteDisplayData`) into Node's module cache,
 * exactly where display.ts looks. Real-kernel behaviour is covered by the notebook tests.
 */
import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);

export interface SentDisplay {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
  update: boolean;
}

export function withFakeKernel<T>(fn: (sent: SentDisplay[]) => T): T {
  const path = req.resolve('tslab/dist/jupyter');
  const previous = req.cache[path];
  const sent: SentDisplay[] = [];
  const fake = {
    id: path,
    filename: path,
    loaded: true,
    exports: {
      lastWriteDisplayData: (d: Omit<SentDisplay, 'update'>, update: boolean) => sent.push({ ...d, update }),
    },
  };
  req.cache[path] = fake as unknown as NodeJS.Module;
  try {
    return fn(sent);
  } finally {
    if (previous) req.cache[path] = previous;
    else delete req.cache[path];
  }
}

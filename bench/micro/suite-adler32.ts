/** Adler-32 (src/base/adler32.ts): every txn log record and every snapshot is checksummed with it. */
import { adler32 } from '../../src/base/index.js';
import { sink, type MicroCase, type Suite } from './case.js';
import { noise } from './fixtures.js';

function adlerCase(label: string, bytes: number): MicroCase {
  const buf = noise(bytes, bytes);
  return {
    name: label,
    maxAllocCalls: 1000,
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc ^= adler32(buf);
      sink.n = acc;
    },
  };
}

export function adler32Suite(): Suite {
  return {
    name: 'adler32',
    source: 'src/base/adler32.ts',
    cases: [adlerCase('100 B', 100), adlerCase('4 KiB', 4096), adlerCase('1 MiB', 1024 * 1024)],
  };
}

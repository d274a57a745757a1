/**
 * A worker thread running one Driver for --threads > 1. Messages:
 *   worker -> main  {type:'ready'} | {type:'result', result} | {type:'closed', problems} | {type:'error', message}
 *   main -> worker  {type:'go', startNs, endNs} (main's nowNs scale) | {type:'close'}
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Driver, type DriverSpec } from './driver.js';
import { BASE_HR } from './session.js';

export interface WorkerInit {
  spec: DriverSpec;
  /** The main thread's BASE_HR, as a decimal string. */
  mainBaseHr: string;
}

export type ToMain =
  | { type: 'ready' }
  | { type: 'result'; result: import('./driver.js').DriverResult }
  | { type: 'closed'; problems: string[] }
  | { type: 'error'; message: string };
export type ToWorker = { type: 'go'; startNs: number; endNs: number } | { type: 'close' };

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  // main's nowNs() = ours + offset
  const offset = Number(BASE_HR - BigInt(init.mainBaseHr));
  const driver = new Driver(init.spec);
  const post = (m: ToMain): void => port.postMessage(m);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'go') {
      driver.run({ startNs: m.startNs - offset, endNs: m.endNs - offset }).then(
        (result) => post({ type: 'result', result }),
        (e: unknown) => post({ type: 'error', message: (e as Error).message }),
      );
    } else {
      driver.close().then(
        (problems) => {
          post({ type: 'closed', problems });
          port.close();
        },
        (e: unknown) => post({ type: 'error', message: (e as Error).message }),
      );
    }
  });
  driver.open().then(
    () => post({ type: 'ready' }),
    (e: unknown) => post({ type: 'error', message: (e as Error).message }),
  );
}

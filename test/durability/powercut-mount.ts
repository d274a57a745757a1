/**
 * Mounts powercut_fs.py (a FUSE file system that keeps only what was made durable) and cuts
 * its power. The daemon runs with Debian's /usr/bin/python3, which has python3-fusepy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from './durability-support.js';

/** dist/test/durability/powercut-mount.js -> test/durability/powercut_fs.py (not compiled). */
export const POWERCUT_FS = fileURLToPath(new URL('../../../test/durability/powercut_fs.py', import.meta.url));
export const SYSTEM_PYTHON = '/usr/bin/python3';

const live = new Set<PowerCutMount>();
process.once('exit', () => {
  // A run that dies must not leave mounts or daemons behind.
  for (const m of live) m.forceUnmount();
});

export function isMounted(mountpoint: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === mountpoint);
}

export class PowerCutMount {
  private daemon: ChildProcess | null = null;
  private log = '';
  mounts = 0;

  constructor(
    readonly backing: string,
    readonly mountpoint: string,
  ) {}

  /** Mounts the backing directory (its durable state) and resolves once the file system answers. */
  async mount(): Promise<void> {
    if (this.daemon !== null) throw new Error(`${this.mountpoint} is already mounted`);
    const daemon = spawn(SYSTEM_PYTHON, [POWERCUT_FS, this.backing, this.mountpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.daemon = daemon;
    live.add(this);
    const ready = new Promise<void>((resolve, reject) => {
      daemon.stdout.on('data', (chunk: Buffer) => {
        this.log += chunk.toString();
        if (this.log.includes('powercut_fs: mounted')) resolve();
      });
      daemon.stderr.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
      daemon.once('exit', (code, signal) => reject(new Error(`powercut_fs exited (${code ?? signal}) before mounting:\n${this.log}`)));
    });
    await within(10000, `powercut_fs to mount ${this.mountpoint}:\n${this.log}`, ready);
    if (!isMounted(this.mountpoint)) throw new Error(`${this.mountpoint} is not in /proc/self/mounts after powercut_fs started`);
    this.mounts++;
  }

  /** The power cut: from now on nothing more becomes durable and every operation fails with EIO. */
  async cut(): Promise<void> {
    await within(5000, 'the power cut', writeFile(path.join(this.mountpoint, '.powercut'), 'cut'));
  }

  /**
   * Arms a power cut in the middle of the next O_DSYNC write: a prefix of it (its length drawn
   * from `seed`) reaches the disk, then the power fails. Nothing happens until such a write.
   */
  async tear(seed: number): Promise<void> {
    await within(5000, 'arming a torn write', writeFile(path.join(this.mountpoint, '.powercut'), `tear ${seed}`));
  }

  /** Writes torn by power cuts so far, over every mount. */
  tornWrites(): number {
    return this.log.split('\n').filter((l) => l.includes('tore a write')).length;
  }

  /** Unmounts (lazily: processes killed a moment ago may still hold files) and waits for the daemon to end. */
  async unmount(): Promise<void> {
    const daemon = this.daemon;
    if (daemon === null) return;
    const exited = new Promise<void>((resolve) => {
      if (daemon.exitCode !== null || daemon.signalCode !== null) resolve();
      else daemon.once('exit', () => resolve());
    });
    const r = spawnSync('fusermount', ['-u', '-z', this.mountpoint], { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) daemon.kill('SIGKILL');
    try {
      await within(10000, `powercut_fs to exit after unmounting ${this.mountpoint}`, exited);
    } catch (e) {
      daemon.kill('SIGKILL');
      await exited;
      throw e;
    } finally {
      this.daemon = null;
      live.delete(this);
    }
    if (isMounted(this.mountpoint)) throw new Error(`${this.mountpoint} is still mounted: ${r.stderr}`);
  }

  /** Last resort (process exit, failed test): no waiting, no throwing. */
  forceUnmount(): void {
    spawnSync('fusermount', ['-u', '-z', this.mountpoint], { timeout: 5000 });
    this.daemon?.kill('SIGKILL');
    this.daemon = null;
    live.delete(this);
  }

  /** What the daemon printed. */
  output(): string {
    return this.log;
  }
}

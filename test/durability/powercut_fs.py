#!/usr/bin/python3
"""A FUSE file system that forgets, at a power cut, everything not made durable.

    /usr/bin/python3 powercut_fs.py BACKING MOUNTPOINT

It serves a live tree (what processes see) from memory and keeps in BACKING only what a disk
would still hold after a power cut. Writing "cut" to MOUNTPOINT/.powercut is the power cut:
from then on every operation fails with EIO, so nothing more becomes durable; the test then
kills the processes using the mount, unmounts it, and mounts BACKING again, which shows only
the durable state. Writing "tear SEED" arms a cut in the middle of a write: the next write
through an O_DSYNC descriptor reaches the disk only in part (a prefix, its length drawn from
SEED; possibly empty, never all of it) and the power fails there, so that write fails with EIO
like everything after it. Until such a write comes nothing changes ("cut" still cuts).

What becomes durable, and when (strict POSIX; no more than ext4 in data=ordered mode gives,
and less where ext4 is generous in practice, e.g. its journal commit on fsync of a file also
persisting unrelated name changes):

  - File contents and length: fsync or fdatasync of the file (on any descriptor) makes its
    whole current content and length durable. A write through a descriptor opened with
    O_DSYNC or O_SYNC makes that write's bytes durable when it returns, and the length only
    as far as the end of that write (an earlier ftruncate that grew the file is not made
    durable by it). Writes and truncates otherwise stay volatile.
  - Names: create, mkdir, unlink, rmdir and rename change only the live tree. fsync of a
    directory makes that directory's current entries durable (each entry names an inode; a
    file whose name became durable but whose data never did comes back empty). Nothing
    makes a name durable implicitly: not fsync of the file, not fsync of a parent's parent.
    A rename between two directories needs both synced.
  - Timestamps, modes and owners are not modelled (always now / 0644 / 0755 / root).

BACKING layout: namespace.json holds the durable entries of every directory inode and the
kind of each inode; data/<inode> holds a file inode's durable bytes (absent = empty). At mount
the live tree is rebuilt from them, and inodes that no durable name reaches are deleted.

The kernel must not keep its own copy of anything: the mount uses direct_io (no page cache
for file data) and zero attribute, entry and negative timeouts (sizes and names are always
asked for), and each power cut is followed by an unmount, which drops every cached inode.
The daemon runs single-threaded, so operations are serialized and the cut falls between two
of them.

ZEPHYR_POWERCUT_FS_LOG=<file> appends one line per operation (for debugging).
"""

import errno
import json
import os
import random
import stat
import sys
import time

from fusepy import FUSE, FuseOSError, Operations

CONTROL = '/.powercut'
ROOT = 1
SYNC_FLAGS = os.O_DSYNC | os.O_SYNC
# Closing a descriptor changes nothing on disk; failing it would only leak kernel handles.
UNAFFECTED_BY_CUT = ('flush', 'release', 'releasedir', 'destroy')


class PowerCutFs(Operations):
    use_ns = True

    def __init__(self, backing):
        self.backing = backing
        self.data_dir = os.path.join(backing, 'data')
        os.makedirs(self.data_dir, exist_ok=True)
        self.dead = False
        self.tear = None
        self.handles = {}
        self.next_fh = 1
        self.unsynced = set()
        self.load()
        log_path = os.environ.get('ZEPHYR_POWERCUT_FS_LOG')
        self.log = open(log_path, 'a', buffering=1) if log_path else None

    # ------------------------------------------------------------ durable state

    def load(self):
        """Rebuilds the live tree from the durable one, dropping what no durable name reaches."""
        ns_path = os.path.join(self.backing, 'namespace.json')
        if os.path.exists(ns_path):
            with open(ns_path) as f:
                ns = json.load(f)
        else:
            ns = {'next_ino': ROOT + 1, 'kinds': {str(ROOT): 'd'}, 'dirs': {str(ROOT): {}}}
        self.next_ino = ns['next_ino']
        kinds = {int(k): v for k, v in ns['kinds'].items()}
        durable = {int(k): {n: int(i) for n, i in v.items()} for k, v in ns['dirs'].items()}
        self.kinds = {ROOT: 'd'}
        self.durable_dirs = {}
        stack = [ROOT]
        while stack:
            d = stack.pop()
            entries = durable.get(d, {})
            self.durable_dirs[d] = entries
            for ino in entries.values():
                if ino in self.kinds:
                    continue
                self.kinds[ino] = kinds[ino]
                if kinds[ino] == 'd':
                    stack.append(ino)
        self.entries = {d: dict(e) for d, e in self.durable_dirs.items()}
        # file contents are read from BACKING on first use
        self.contents = {}
        for name in os.listdir(self.data_dir):
            if self.kinds.get(int(name)) != 'f':
                os.unlink(os.path.join(self.data_dir, name))
        self.save_namespace()

    def save_namespace(self):
        ns = {
            'next_ino': self.next_ino,
            'kinds': {str(i): k for i, k in self.kinds.items()},
            'dirs': {str(d): e for d, e in self.durable_dirs.items()},
        }
        # kinds also lists inodes not (yet) durably named: harmless, load() only follows names
        tmp = os.path.join(self.backing, 'namespace.json.tmp')
        with open(tmp, 'w') as f:
            json.dump(ns, f)
        os.replace(tmp, os.path.join(self.backing, 'namespace.json'))

    def data_path(self, ino):
        return os.path.join(self.data_dir, str(ino))

    def content(self, ino):
        buf = self.contents.get(ino)
        if buf is None:
            try:
                with open(self.data_path(ino), 'rb') as f:
                    buf = bytearray(f.read())
            except FileNotFoundError:
                buf = bytearray()
            self.contents[ino] = buf
        return buf

    def durable_write(self, ino, data, offset):
        fd = os.open(self.data_path(ino), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def make_durable(self, ino):
        if ino not in self.unsynced:
            return
        with open(self.data_path(ino), 'wb') as f:
            f.write(self.content(ino))
        self.unsynced.discard(ino)

    # ------------------------------------------------------------ the live tree

    def __call__(self, op, *args):
        if self.log:
            self.log.write('%.6f %s %s\n' % (time.time(), op, ' '.join(repr(a)[:80] for a in args[:2])))
        if self.dead and op not in UNAFFECTED_BY_CUT and (not args or args[0] != CONTROL):
            raise FuseOSError(errno.EIO)
        return super().__call__(op, *args)

    def split(self, path):
        parent, _, name = path.rpartition('/')
        return self.lookup(parent or '/'), name

    def lookup(self, path):
        ino = ROOT
        for part in path.split('/'):
            if part == '':
                continue
            if self.kinds.get(ino) != 'd' or part not in self.entries[ino]:
                raise FuseOSError(errno.ENOENT)
            ino = self.entries[ino][part]
        return ino

    def dir_of(self, path):
        parent, name = self.split(path)
        if self.kinds.get(parent) != 'd':
            raise FuseOSError(errno.ENOTDIR)
        return parent, name

    def new_inode(self, kind):
        ino = self.next_ino
        self.next_ino += 1
        self.kinds[ino] = kind
        if kind == 'd':
            self.entries[ino] = {}
        else:
            self.contents[ino] = bytearray()
        return ino

    def ino_of(self, path, fi):
        if fi is not None and fi.fh in self.handles:
            return self.handles[fi.fh][0]
        return self.lookup(path)

    def new_handle(self, ino, fi):
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = (ino, bool(fi.flags & SYNC_FLAGS))
        fi.fh = fh
        fi.direct_io = 1
        return 0

    # ------------------------------------------------------------ operations

    def getattr(self, path, fh=None):
        now = time.time_ns()
        base = {'st_uid': 0, 'st_gid': 0, 'st_atime': now, 'st_mtime': now, 'st_ctime': now}
        if path == CONTROL:
            return dict(base, st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=0)
        ino = self.ino_of(path, fh)
        if self.kinds[ino] == 'd':
            return dict(base, st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_size=4096, st_ino=ino)
        size = len(self.content(ino))
        return dict(base, st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=size, st_ino=ino, st_blocks=(size + 511) // 512)

    def readdir(self, path, fh):
        ino = self.lookup(path)
        if self.kinds[ino] != 'd':
            raise FuseOSError(errno.ENOTDIR)
        return ['.', '..'] + list(self.entries[ino].keys())

    def mkdir(self, path, mode):
        parent, name = self.dir_of(path)
        if name in self.entries[parent]:
            raise FuseOSError(errno.EEXIST)
        self.entries[parent][name] = self.new_inode('d')

    def rmdir(self, path):
        parent, name = self.dir_of(path)
        ino = self.entries[parent].get(name)
        if ino is None:
            raise FuseOSError(errno.ENOENT)
        if self.kinds[ino] != 'd':
            raise FuseOSError(errno.ENOTDIR)
        if self.entries[ino]:
            raise FuseOSError(errno.ENOTEMPTY)
        del self.entries[parent][name]

    def create(self, path, mode, fi):
        if path == CONTROL:
            fi.fh = 0
            return 0
        parent, name = self.dir_of(path)
        ino = self.entries[parent].get(name)
        if ino is None:
            ino = self.new_inode('f')
            self.entries[parent][name] = ino
        elif fi.flags & os.O_TRUNC:
            self.set_length(ino, 0)
        return self.new_handle(ino, fi)

    def open(self, path, fi):
        if path == CONTROL:
            fi.fh = 0
            return 0
        ino = self.lookup(path)
        if fi.flags & os.O_TRUNC and self.kinds[ino] == 'f':
            self.set_length(ino, 0)
        return self.new_handle(ino, fi)

    def release(self, path, fi):
        self.handles.pop(fi.fh, None)
        return 0

    def flush(self, path, fi):
        return 0

    def read(self, path, size, offset, fi):
        ino = self.ino_of(path, fi)
        return bytes(self.content(ino)[offset : offset + size])

    def write(self, path, data, offset, fi):
        if path == CONTROL:
            return self.control(data)
        ino, synced = self.handles[fi.fh]
        if synced and self.tear is not None:
            data = data[: random.Random(self.tear).randrange(len(data)) if data else 0]
            self.report('tore a write to %s at offset %d: %d bytes reached the disk' % (path, offset, len(data)))
            self.dead = True
        buf = self.content(ino)
        if offset > len(buf):
            buf.extend(bytes(offset - len(buf)))
        buf[offset : offset + len(data)] = data
        if synced:
            self.durable_write(ino, data, offset)
        else:
            self.unsynced.add(ino)
        if self.dead:
            raise FuseOSError(errno.EIO)
        return len(data)

    def control(self, data):
        words = data.decode().split()
        if words == ['cut']:
            if not self.dead:
                self.report('power cut')
            self.dead = True
        elif len(words) == 2 and words[0] == 'tear':
            self.tear = int(words[1])
        else:
            raise FuseOSError(errno.EINVAL)
        return len(data)

    def report(self, what):
        sys.stderr.write('powercut_fs: %s\n' % what)
        sys.stderr.flush()

    def set_length(self, ino, length):
        buf = self.content(ino)
        if length < len(buf):
            del buf[length:]
        else:
            buf.extend(bytes(length - len(buf)))
        self.unsynced.add(ino)

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return 0
        ino = self.ino_of(path, fh)
        if self.kinds[ino] != 'f':
            raise FuseOSError(errno.EISDIR)
        self.set_length(ino, length)
        return 0

    def fsync(self, path, datasync, fi):
        self.make_durable(self.ino_of(path, fi))
        return 0

    def fsyncdir(self, path, datasync, fh):
        ino = self.lookup(path)
        self.durable_dirs[ino] = dict(self.entries[ino])
        self.save_namespace()
        return 0

    def unlink(self, path):
        parent, name = self.dir_of(path)
        ino = self.entries[parent].get(name)
        if ino is None:
            raise FuseOSError(errno.ENOENT)
        if self.kinds[ino] == 'd':
            raise FuseOSError(errno.EISDIR)
        del self.entries[parent][name]

    def rename(self, old, new):
        old_parent, old_name = self.dir_of(old)
        new_parent, new_name = self.dir_of(new)
        ino = self.entries[old_parent].get(old_name)
        if ino is None:
            raise FuseOSError(errno.ENOENT)
        target = self.entries[new_parent].get(new_name)
        if target is not None and self.kinds[target] == 'd' and self.entries[target]:
            raise FuseOSError(errno.ENOTEMPTY)
        del self.entries[old_parent][old_name]
        self.entries[new_parent][new_name] = ino

    def statfs(self, path):
        return {'f_bsize': 4096, 'f_frsize': 4096, 'f_blocks': 1 << 20, 'f_bfree': 1 << 19, 'f_bavail': 1 << 19, 'f_namemax': 255}

    def access(self, path, amode):
        return 0

    def chmod(self, path, mode):
        return 0

    def chown(self, path, uid, gid):
        return 0

    def utimens(self, path, times=None):
        return 0

    def init(self, path):
        sys.stdout.write('powercut_fs: mounted\n')
        sys.stdout.flush()


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: powercut_fs.py BACKING MOUNTPOINT\n')
        sys.exit(2)
    backing, mountpoint = sys.argv[1], sys.argv[2]
    FUSE(
        PowerCutFs(backing),
        mountpoint,
        raw_fi=True,
        foreground=True,
        nothreads=True,
        direct_io=True,
        hard_remove=True,
        attr_timeout=0,
        entry_timeout=0,
        negative_timeout=0,
        fsname='powercut_fs',
    )


if __name__ == '__main__':
    main()

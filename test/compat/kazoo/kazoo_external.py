"""pytest plugin: run kazoo's own test suite against an already-running server.

kazoo's harness (kazoo/testing/harness.py) normally launches a 3-node Java
ZooKeeper cluster through ``get_global_cluster()``.  Every test reaches the
cluster only through that function (``KazooTestHarness.cluster`` looks it up in
the module namespace at call time, ``servers`` joins ``s.address`` of each
member, ``setup_zookeeper`` checks ``s.running`` / calls ``cluster.start()``),
so replacing it with a fake cluster of the running server(s) is enough.

Configuration (environment):
  KAZOO_EXTERNAL_SERVER  host:port of the running server, or host:port,...
                         of every member of a running ensemble (required)
  KAZOO_ENSEMBLE_CONTROL control port of the ensemble launcher (optional): lets
                         tests stop and restart members
  KAZOO_TEST_TIMEOUT     per-test timeout in seconds (default 120, 0 = off);
                         only used when pytest-timeout is not installed.

Load with ``-p kazoo_external`` (this directory on PYTHONPATH).
"""
import os
import signal
import socket
import sys
import threading

import pytest

# kazoo 2.8.0's tests `import mock`; Debian's python3-kazoo does not pull in
# python3-mock.  The standalone package is a backport of unittest.mock, so
# alias the standard library module when it is missing.
try:
    import mock  # noqa: F401
except ImportError:
    import unittest.mock
    sys.modules["mock"] = unittest.mock

# test_cache.py uses objgraph.count() (PyPI objgraph, not a dependency of
# python3-kazoo).  Provide the one function it needs, same semantics as
# objgraph 3.x: count live gc-tracked objects whose type name matches.
try:
    import objgraph  # noqa: F401
except ImportError:
    import gc
    import types

    def _count(typename, objects=None):
        if objects is None:
            objects = gc.get_objects()
        try:
            if "." in typename:
                return sum(1 for o in objects
                           if "%s.%s" % (type(o).__module__,
                                         type(o).__name__) == typename)
            return sum(1 for o in objects if type(o).__name__ == typename)
        finally:
            del objects

    _objgraph = types.ModuleType("objgraph")
    _objgraph.count = _count
    _objgraph.__doc__ = "minimal objgraph stand-in (count only)"
    sys.modules["objgraph"] = _objgraph

import kazoo.testing.harness as harness

_ADDRESS = os.environ.get("KAZOO_EXTERNAL_SERVER")
_CONTROL = os.environ.get("KAZOO_ENSEMBLE_CONTROL")
if not _ADDRESS:
    raise RuntimeError("KAZOO_EXTERNAL_SERVER (host:port[,host:port...]) must be set")


class ExternalServer(object):
    """Stands in for kazoo.testing.common.ManagedZooKeeper.

    With KAZOO_ENSEMBLE_CONTROL (the control port of test/support/ensemble-cli.ts)
    the harness owns the members: stop() kills member N with SIGKILL and run()
    starts it again, as kazoo's own harness stops and starts its servers.
    Without it, stop() and run() raise, so a test that tries fails loudly.
    """

    def __init__(self, address, member_id=None):
        self.address = address
        self.host, _, port = address.rpartition(":")
        self.server_info = None
        self.client_port = int(port)
        self.member_id = member_id
        self._running = True

    @property
    def running(self):
        return self._running

    def _control(self, command):
        if _CONTROL is None or self.member_id is None:
            raise RuntimeError(
                "server %s is external; the harness cannot %s it "
                "(this test should be listed in deselected.txt)"
                % (self.address, command))
        with socket.create_connection(("127.0.0.1", int(_CONTROL)),
                                      timeout=180) as conn:
            conn.sendall(("%s %d\n" % (command, self.member_id)).encode())
            reply = conn.makefile().readline()
        if not reply or '"error"' in reply:
            raise RuntimeError("%s of member %d failed: %r"
                               % (command, self.member_id, reply))

    def run(self):
        if not self._running:
            self._control("restart")
            self._running = True

    def stop(self):
        if self._running:
            self._control("kill")
            self._running = False

    destroy = stop

    def reset(self):
        pass


class ExternalCluster(object):
    """Stands in for kazoo.testing.common.ZookeeperCluster: one member per
    comma-separated address (an ensemble gives all of them, so clients get
    the whole list, as with kazoo's own 3-server cluster)."""

    def __init__(self, addresses):
        # members are numbered from 1 in the order of the connection string
        self._servers = [ExternalServer(a, i + 1)
                         for i, a in enumerate(addresses.split(","))]

    def __iter__(self):
        return iter(self._servers)

    def __getitem__(self, item):
        return self._servers[item]

    def __len__(self):
        return len(self._servers)

    def start(self):
        # after a test that stopped a member: bring it back, as kazoo's harness does
        for server in self._servers:
            if not server.running:
                server.run()

    def stop(self):
        pass

    def terminate(self):
        pass

    def reset(self):
        pass


_CLUSTER = ExternalCluster(_ADDRESS)


def get_global_cluster():
    return _CLUSTER


harness.get_global_cluster = get_global_cluster
harness.CLUSTER = _CLUSTER


def pytest_report_header(config):
    return "kazoo external server: %s" % _ADDRESS


# --- per-test timeout (fallback when pytest-timeout is not installed) -------

try:
    import pytest_timeout  # noqa: F401
    _HAVE_PYTEST_TIMEOUT = True
except ImportError:
    _HAVE_PYTEST_TIMEOUT = False

_TIMEOUT = float(os.environ.get("KAZOO_TEST_TIMEOUT", "120") or 0)


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded KAZOO_TEST_TIMEOUT=%ss" % _TIMEOUT)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    use = (not _HAVE_PYTEST_TIMEOUT and _TIMEOUT > 0
           and threading.current_thread() is threading.main_thread())
    if use:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        # covers setup, call and teardown of this item
        signal.setitimer(signal.ITIMER_REAL, _TIMEOUT)
    try:
        yield
    finally:
        if use:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def pytest_unconfigure(config):
    # Some kazoo tests leave clients running; their reconnect chatter would
    # otherwise be printed after pytest's summary while the interpreter exits.
    import logging
    logging.getLogger("kazoo").setLevel(logging.CRITICAL + 1)

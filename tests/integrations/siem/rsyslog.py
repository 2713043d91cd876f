"""rsyslog as a real SIEM receiver on loopback (testing-and-peers.md B.2).

`Rsyslog(directory)` writes its own configuration into `directory` (UDP, TCP with imtcp and
imptcp, TLS with the gtls driver, each input writing ``%rawmsg%`` to its own file), starts
``rsyslogd -n -f <conf> -i <pidfile>`` in the foreground (no system logging: no imuxsock or
imklog is loaded) and waits until every input answers. Tests skip when rsyslogd or its TLS
driver is missing, except with CI=true, where they fail: CI installs them (.ci/run).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.fakes.tls import TlsFiles

INPUTS = ("udp", "tcp", "ptcp", "tls")


def rsyslogd_or_skip() -> str:
    """The rsyslogd binary with its TLS driver, or skip (fail under CI=true)."""
    binary = shutil.which("rsyslogd") or next(
        (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.access(p, os.X_OK)), None
    )
    problem = ""
    if binary is None:
        problem = "rsyslogd is not installed (Debian: apt-get install rsyslog rsyslog-gnutls)"
    elif not glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so") + glob.glob(
        "/usr/lib/rsyslog/lmnsd_gtls.so"
    ):
        problem = "rsyslog's TLS driver is not installed (Debian: apt-get install rsyslog-gnutls)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI=true requires it")
        pytest.skip(problem)
    return binary


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Rsyslog:
    def __init__(self, binary: str, directory: Path, tls: TlsFiles) -> None:
        self.binary = binary
        self.directory = directory
        self.ports = {
            name: free_port(socket.SOCK_DGRAM if name == "udp" else socket.SOCK_STREAM)
            for name in INPUTS
        }
        (directory / "work").mkdir(exist_ok=True)
        self.conf = directory / "rsyslog.conf"
        self.pidfile = directory / "rsyslogd.pid"
        self.log = directory / "rsyslogd.out"
        self.conf.write_text(self._config(tls))
        self.process: subprocess.Popen | None = None

    def _config(self, tls: TlsFiles) -> str:
        d = self.directory
        rulesets = "\n".join(
            f'ruleset(name="{name}") {{ action(type="omfile" file="{d / name}.log" '
            f'template="raw") }}'
            for name in INPUTS
        )
        p = self.ports
        return f"""
global(workDirectory="{d / "work"}" maxMessageSize="64k"
       DefaultNetstreamDriverCAFile="{tls.ca_bundle}"
       DefaultNetstreamDriverCertFile="{tls.cert}"
       DefaultNetstreamDriverKeyFile="{tls.key}")
module(load="imudp")
module(load="imtcp" MaxSessions="100")
module(load="imptcp")
template(name="raw" type="string" string="%rawmsg%\\n")
input(type="imudp" address="127.0.0.1" port="{p["udp"]}" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="{p["tcp"]}" ruleset="tcp")
input(type="imptcp" address="127.0.0.1" port="{p["ptcp"]}" ruleset="ptcp")
input(type="imtcp" address="127.0.0.1" port="{p["tls"]}" ruleset="tls"
      StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
{rulesets}
"""

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-n", "-f", str(self.conf), "-i", str(self.pidfile)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        end = time.monotonic() + 15
        waiting = {name for name in INPUTS if name != "udp"}
        while waiting:
            if self.process.poll() is not None:
                raise RuntimeError(f"rsyslogd stopped at start: {self.log.read_text()}")
            if time.monotonic() > end:
                raise RuntimeError(f"rsyslogd did not listen in 15 s: {self.log.read_text()}")
            for name in list(waiting):
                try:
                    socket.create_connection(("127.0.0.1", self.ports[name]), timeout=1).close()
                    waiting.discard(name)
                except OSError:
                    time.sleep(0.05)
        self._wait_for_udp()

    def _wait_for_udp(self) -> None:
        """UDP has no handshake: send probes until one is written, then forget them."""
        end = time.monotonic() + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while time.monotonic() < end:
                sock.sendto(b"readiness-probe", ("127.0.0.1", self.ports["udp"]))
                time.sleep(0.1)
                if "readiness-probe" in self.read("udp", raw=True):
                    return
        raise RuntimeError("rsyslogd's UDP input did not answer in 10 s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def read(self, name: str, *, raw: bool = False) -> str | list[str]:
        path = self.directory / f"{name}.log"
        text = path.read_text() if path.exists() else ""
        if raw:
            return text
        return [line for line in text.splitlines() if line != "readiness-probe"]

    def wait_for(self, name: str, count: int, timeout: float = 10.0) -> list[str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            lines = self.read(name)
            if len(lines) >= count:
                return lines
            time.sleep(0.05)
        return self.read(name)

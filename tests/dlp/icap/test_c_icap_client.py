"""T16: the real `c-icap-client` (Debian package c-icap) against our server: OPTIONS, REQMOD and
RESPMOD, with and without preview, plain and over TLS. Skipped when the binary is absent,
except under CI=true where that fails.

The block cases depend on the file policy module's `apply()` honouring `tuning.block`."""

from __future__ import annotations

import subprocess

import pytest

from apps.dlp.icap.server import tls_context
from apps.dlp.models import FileRecord, FileSource, Verdict
from apps.tenants.scoping import tenant_context
from tests.dlp.icap import client as ic
from tests.dlp.icap.conftest import SETS_UP_DATABASES, need, start_server
from tests.fakes.tls import make_tls


@SETS_UP_DATABASES
def test_the_binary_is_there():
    assert need("c-icap-client")


def run(port: int, service, *args: str, secret: str | None = None) -> str:
    binary = need("c-icap-client")
    command = [binary, "-i", "127.0.0.1", "-p", str(port), "-s", service, "-v", *args]
    if secret:
        command += ["-x", f"X-ICAP-Secret: {secret}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    return done.stdout + done.stderr


def status_of(output: str) -> int:
    for line in output.splitlines():
        if line.strip().startswith("ICAP/1.0 "):
            return int(line.split()[1])
    raise AssertionError(f"no ICAP status in:\n{output}")


@pytest.fixture
def files(tmp_path):
    card = tmp_path / "card.txt"
    card.write_bytes(ic.CARD_TEXT * 40)  # bigger than a 1024-byte preview
    clean = tmp_path / "notes.txt"
    clean.write_bytes(ic.CLEAN_TEXT)
    return card, clean


def recorded(tenant):
    with tenant_context(tenant):
        return list(FileRecord.objects.order_by("first_seen_at"))


def test_options(server, service):
    out = run(server.port, f"{service.slug}/reqmod", secret=service.secret)
    assert status_of(out) == 200 and "Methods: REQMOD" in out and "ISTag:" in out
    out = run(server.port, f"{service.slug}/respmod")  # no secret: OPTIONS still answered
    assert status_of(out) == 200 and "Methods: RESPMOD" in out
    assert status_of(run(server.port, "nosuch/reqmod", secret="icap_wrong")) == 403


@pytest.mark.parametrize("preview", [["-w", "1024"], ["-nopreview"]], ids=["preview", "nopreview"])
def test_reqmod_upload(server, blocking, files, tmp_path, preview):
    card, clean = files
    out_file = tmp_path / "out.txt"
    base = ["-req", "http://upload.example.test/api/files/card.txt", "-method", "POST"]
    out = run(server.port, f"{blocking.slug}/reqmod", "-f", str(clean), *base, *preview,
              secret=blocking.secret)  # fmt: skip
    assert status_of(out) == 204
    out = run(server.port, f"{blocking.slug}/reqmod", "-f", str(card), "-o", str(out_file),
              *base, *preview, secret=blocking.secret)  # fmt: skip
    assert status_of(out) == 200
    assert "Stop: &lt;card&gt;" in out_file.read_text()
    records = recorded(blocking.tenant)
    assert [r.verdict for r in records] == [Verdict.CLEAN, Verdict.BLOCKED]
    assert {r.source for r in records} == {FileSource.ICAP}
    assert records[1].size == len(ic.CARD_TEXT) * 40


def test_respmod_without_a_block_policy_is_recorded_and_let_through(
    server, service, files, tmp_path
):
    card, _ = files
    url = "http://files.example.test/d/card.txt"
    out = run(server.port, f"{service.slug}/respmod", "-f", str(card), "-resp", url, "-w", "512",
              secret=service.secret)  # fmt: skip
    assert status_of(out) == 204
    [record] = recorded(service.tenant)
    assert record.verdict == Verdict.MATCHED and record.matched_types == ["payment_card"]
    # -no204: the body comes back unchanged.
    out_file = tmp_path / "back.txt"
    out = run(server.port, f"{service.slug}/respmod", "-f", str(card), "-resp",
              "http://files.example.test/d/card.txt", "-nopreview", "-no204", "-o",
              str(out_file), secret=service.secret)  # fmt: skip
    assert status_of(out) == 200 and out_file.read_bytes() == card.read_bytes()


def test_wrong_secret_is_refused(server, service, files, caplog):
    # c-icap-client prints no status line for a failed REQMOD; the server's log tells it.
    _, clean = files
    out = run(server.port, f"{service.slug}/reqmod", "-f", str(clean), "-req",
              "http://x.test/a.txt", "-method", "POST", secret="icap_wrong")  # fmt: skip
    assert "ICAP/1.0 2" not in out and recorded(service.tenant) == []
    assert "icap request refused: 403" in caplog.text


def test_over_tls(icap_db, blocking, files, tmp_path):
    tls = make_tls(tmp_path)
    server, stop, thread = start_server(tls=tls_context(str(tls.cert), str(tls.key)))
    try:
        _, clean = files
        out = run(server.port, f"{blocking.slug}/reqmod", "-tls", "-tls-no-verify", "-f",
                  str(clean), "-req", "http://x.test/a.txt", "-method", "POST",
                  secret=blocking.secret)  # fmt: skip
        assert status_of(out) == 204
        assert len(recorded(blocking.tenant)) == 1
    finally:
        stop.set()
        thread.join(timeout=10)

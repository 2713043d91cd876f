"""T20: what content inspection reads never leaves the scan's memory.

Files of every format we extract (text, CSV, DOCX, XLSX, PDF, and a ZIP holding a DOCX) carry
canaries only they hold: a sentence of random words, a valid card number and an e-mail address
made up for this run. After scanning them through `scan_file` (which records metadata and
sealed masked matches), no canary is found:

- in the databases: a `pg_dump --data-only` of the test database and of the US geo database
  (every table, every column; bytea as hex, so the canaries' hex is searched too);
- in any file written or changed during the scans under the var dir, MEDIA_ROOT, the discovery
  spool or the temporary directory;
- in Redis (every key of the test broker database, whatever its type);
- in any log record emitted during the scans (root logger at DEBUG).

The masked evidence (`#### #### #### ####`) may be stored; the raw values may not. Each check
is shown to be able to fail: the same search finds a canary planted on purpose in a row, a
file, a Redis key and a log record.
"""

from __future__ import annotations

import logging
import os
import secrets
import string
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connections

from apps.dlp.models import FileRecord, Match, Verdict
from apps.dlp.services import FileMeta, scan_file
from apps.tenants.scoping import tenant_context
from tests.dlp.extract_builders import docx, pdf, xlsx, zip_bytes

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"], transaction=True)


# --- Canaries -----------------------------------------------------------------------------------


def _word() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(11))


def _card() -> str:
    """A random 16-digit Visa number with a valid Luhn check digit, grouped by four."""
    body = "4" + "".join(secrets.choice(string.digits) for _ in range(14))
    total = 0
    for i, digit in enumerate(reversed(body)):
        n = int(digit)
        if i % 2 == 0:  # doubled: the check digit will be appended to the right
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    number = body + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


@dataclass
class Canary:
    words: list[str]
    card: str
    email: str

    @property
    def sentence(self) -> str:
        return f"The {self.words[0]} asked the {self.words[1]} about {self.words[2]} at noon"

    @property
    def line(self) -> str:
        return f"{self.sentence}. Card {self.card} for {self.email} only"

    def needles(self) -> list[str]:
        """How the canary would show if stored: the words, the card spaced and not, the
        address; each as text and as the hex a bytea column or a binary file shows."""
        texts = [*self.words, self.card, self.card.replace(" ", ""), self.email]
        return [t.lower() for t in texts] + [t.encode().hex() for t in texts]


def _canary() -> Canary:
    words = [_word() for _ in range(3)]
    return Canary(words=words, card=_card(), email=f"{_word()}@{_word()}.example")


def _files(canaries: dict[str, Canary]) -> dict[str, bytes]:
    c = canaries
    rows = (
        f'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>{c["book.xlsx"].sentence}</t></is></c>'
        f'<c r="B2" t="inlineStr"><is><t>{c["book.xlsx"].card}</t></is></c>'
        f'<c r="C2" t="inlineStr"><is><t>{c["book.xlsx"].email}</t></is></c></row>'
    )
    nested = docx([c["bundle.zip"].line])
    return {
        "notes.txt": f"Hello.\n{c['notes.txt'].line}\nBye.\n".encode(),
        "people.csv": (
            "name,card,email,remark\n"
            f"A. Person,{c['people.csv'].card},{c['people.csv'].email},{c['people.csv'].sentence}\n"
        ).encode(),
        "letter.docx": docx(["Dear customer,", c["letter.docx"].line], footer="Footer"),
        "book.xlsx": xlsx(["Remark", "Card"], rows),
        "scan.pdf": pdf([c["scan.pdf"].line, "Second page"]),
        "bundle.zip": zip_bytes({"readme.txt": b"see inside", "inner/contract.docx": nested}),
    }


# --- Where content could leak -------------------------------------------------------------------


def _dump(alias: str) -> str:
    """`pg_dump --data-only` of database `alias` (the test database), lower-cased."""
    conf = connections[alias].settings_dict
    command = ["pg_dump", "--data-only", "--no-owner", "-h", conf["HOST"] or "127.0.0.1"]
    if conf.get("PORT"):
        command += ["-p", str(conf["PORT"])]
    command += ["-U", conf["USER"] or "postgres", conf["NAME"]]
    env = {**os.environ, "PGPASSWORD": str(conf.get("PASSWORD") or "")}
    done = subprocess.run(command, capture_output=True, env=env, timeout=120, check=True)
    return done.stdout.decode("utf-8", "replace").lower()


def _roots() -> list[Path]:
    found = [
        Path(settings.VAR_DIR),
        Path(settings.DISCOVERY_SPOOL_DIR),
        Path(tempfile.gettempdir()),
    ]
    if getattr(settings, "MEDIA_ROOT", ""):
        found.append(Path(settings.MEDIA_ROOT))
    return [p for p in found if p.exists()]


def _snapshot() -> dict[Path, tuple[float, int]]:
    files: dict[Path, tuple[float, int]] = {}
    for root in _roots():
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                try:
                    stat = path.lstat()
                except OSError:
                    continue
                files[path] = (stat.st_mtime, stat.st_size)
    return files


def _written_since(before: dict[Path, tuple[float, int]]) -> dict[Path, str]:
    """Files new or changed since `before`, with their content (lower-cased, text and hex)."""
    changed = {}
    for path, state in _snapshot().items():
        if before.get(path) == state or not path.is_file():
            continue
        try:
            data = path.read_bytes()[: 50 * 1024 * 1024]
        except OSError:
            continue
        changed[path] = data.decode("latin-1").lower() + "\n" + data.hex()
    return changed


def _redis_text() -> str:
    """Every key and value of the test broker's Redis database, as text."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    parts: list[bytes] = []
    for key in client.scan_iter(count=500):
        parts.append(key)
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"list":
            parts += client.lrange(key, 0, -1)
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                parts += [field, value]
        elif kind == b"set":
            parts += list(client.smembers(key))
        elif kind == b"zset":
            parts += client.zrange(key, 0, -1)
        elif kind == b"stream":
            for _, fields in client.xrange(key):
                for field, value in fields.items():
                    parts += [field, value]
    data = b"\n".join(parts)
    return data.decode("latin-1").lower() + "\n" + data.hex()


def _log_text(records: list[logging.LogRecord]) -> str:
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(record.exc_text or "")
        parts.append(repr({k: v for k, v in vars(record).items() if k not in {"msg", "args"}}))
    return "\n".join(parts).lower()


def _hits(text: str, canaries: dict[str, Canary]) -> list[str]:
    return [
        f"{name}: {needle}"
        for name, canary in canaries.items()
        for needle in canary.needles()
        if needle in text
    ]


# --- The test -----------------------------------------------------------------------------------


def test_scanned_content_is_stored_nowhere(tenant_a, caplog):
    canaries = {name: _canary() for name in NAMES}
    files = _files(canaries)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).set("t20:probe", b"before")
    before = _snapshot()
    time.sleep(0.01)  # a file written in the same clock tick still changes size or appears
    caplog.set_level(logging.DEBUG)

    with tenant_context(tenant_a):
        results = {
            name: scan_file(
                name=name,
                data=data,
                source="api",
                meta=FileMeta(owner="owner@alpha.test", location="/uploads"),
            )
            for name, data in files.items()
        }

    # The canaries did reach the scan: each file's text holds its sentence, each card is found.
    for name, result in results.items():
        assert canaries[name].sentence in result.extraction.text, name
        assert "payment_card" in result.results, (name, sorted(result.results))
        assert result.record.verdict == Verdict.MATCHED
    records = list(caplog.records)
    with tenant_context(tenant_a):
        assert FileRecord.objects.count() == len(files)
        assert Match.objects.filter(type_key="payment_card").count() == len(files)

    dumps = {alias: _dump(alias) for alias in ("default", "geo_us")}
    written = _written_since(before)
    redis_text = _redis_text()
    log_text = _log_text(records)

    # The searches see what was stored: the records' metadata and the masked evidence's
    # sealed rows (a dump that read nothing would prove nothing).
    assert "people.csv" in dumps["default"] and "owner@alpha.test" in dumps["default"]
    assert str(results["notes.txt"].record.pk) in dumps["default"]
    assert "t20:probe" in redis_text

    for alias, text in dumps.items():
        assert _hits(text, canaries) == [], alias
    for path, text in written.items():
        assert _hits(text, canaries) == [], str(path)
    assert _hits(redis_text, canaries) == []
    assert _hits(log_text, canaries) == []

    # Each search can fail: the same searches find a canary planted on purpose.
    planted = _canary()
    probe = {"planted": planted}
    with tenant_context(tenant_a):
        row = FileRecord.objects.create(source="api", name="planted", location=planted.sentence)
    before = _snapshot()
    with tempfile.NamedTemporaryFile("wb", suffix=".bin", delete=False) as fh:
        fh.write(f"junk {planted.card} junk".encode())
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.set("t20:planted", planted.email.encode())
    with caplog.at_level(logging.DEBUG):
        # The scan service's own logger, at DEBUG: captured like anything the scans log.
        logging.getLogger("apps.dlp.services").debug("planted %s", planted.words[2])
    try:
        assert _hits(_dump("default"), probe), "pg_dump search cannot find a stored canary"
        assert any(_hits(text, probe) for text in _written_since(before).values())
        assert _hits(_redis_text(), probe)
        assert _hits(_log_text(caplog.records), probe)
    finally:
        os.unlink(fh.name)
        client.delete("t20:planted", "t20:probe")
        with tenant_context(tenant_a):
            row.delete()


NAMES = ("notes.txt", "people.csv", "letter.docx", "book.xlsx", "scan.pdf", "bundle.zip")

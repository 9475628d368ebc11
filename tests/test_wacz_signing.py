"""Anonymous WACZ signatures: ``wacz --sign-key KEY --new-key`` makes the key and signs,
and ReplayWeb.page (wabac.js's own verification, in headless Chromium) checks it: the signed
package verifies with our public key, a package changed after signing does not."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import Crawled, run_cli, tool_missing
from tests.replay_support import py_wacz_validate
from tests.replaywebpage_support import replaywebpage_browser, serving

WAIT_MS = 90_000
# ReplayWeb.page's service worker keeps what it verified in the IndexedDB of the collection
# ("db:<name>", store "verification"): for the signature, {id: "signature", expected: true,
# matched: <WebCrypto's verdict>}. Its API counts a signature as valid whatever the verdict,
# so the verdict is read where the service worker put it.
VERIFICATION = """async () => {
  const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result);
                                                      r.onerror = () => fail(r.error); });
  // At the version listed, so that a database gone meanwhile is not created empty (the
  // upgrade is aborted) and the service worker's own opening is never disturbed.
  const open = (name, version) => new Promise((ok) => {
    const r = indexedDB.open(name, version);
    r.onupgradeneeded = () => r.transaction.abort();
    r.onsuccess = () => ok(r.result);
    r.onerror = () => ok(null);
  });
  const rows = [];
  for (const { name, version } of await indexedDB.databases()) {
    if (!name || !name.startsWith("db:")) continue;
    const db = await open(name, version);
    if (db && db.objectStoreNames.contains("verification")) {
      const store = db.transaction("verification").objectStore("verification");
      rows.push(...await request(store.getAll()));
    }
    if (db) db.close();
  }
  return rows;
}"""


@dataclass
class Signed:
    wacz: Path
    public_key: str
    """What ``wacz --new-key`` printed."""


@pytest.fixture(scope="module")
def signed(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Signed:
    work = tmp_path_factory.mktemp("signed")
    out = work / "signed.wacz"
    key = str(work / "key.pem")
    result = run_cli(
        "wacz", str(crawled.directory), "--out", str(out), "--sign-key", key, "--new-key"
    )
    assert result.returncode == 0, result.stderr
    public_key = result.stdout.split("signed with public key: ")[1].strip()
    return Signed(out, public_key)


def _digest(wacz: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wacz) as package:
        return json.loads(package.read("datapackage-digest.json"))


def test_new_key_writes_a_private_key_once(crawled: Crawled, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    wacz = ("wacz", str(crawled.directory), "--out", str(tmp_path / "p.wacz"))
    assert run_cli(*wacz, "--sign-key", str(key), "--new-key").returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, "the private key is its owner's only"
    before = key.read_bytes()
    again = run_cli(*wacz, "--sign-key", str(key), "--new-key")
    assert again.returncode == 2
    assert again.stderr == f"portal-archiver: {key} already exists; a key is never overwritten\n"
    assert key.read_bytes() == before
    alone = run_cli(*wacz, "--new-key")
    assert alone.returncode == 2
    assert "--new-key needs --sign-key FILE" in alone.stderr
    # Without --new-key the same key signs again.
    assert run_cli(*wacz, "--sign-key", str(key)).returncode == 0
    assert key.read_bytes() == before


def test_signed_data_is_the_anonymous_signature_of_the_spec(signed: Signed) -> None:
    digest = _digest(signed.wacz)
    with zipfile.ZipFile(signed.wacz) as package:
        datapackage = json.loads(package.read("datapackage.json"))
    data = digest["signedData"]
    # The spec allows no other property.
    assert set(data) == {"hash", "created", "software", "version", "signature", "publicKey"}
    assert data["hash"] == digest["hash"]
    assert (data["created"], data["software"]) == (datapackage["created"], datapackage["software"])
    assert data["publicKey"] == signed.public_key
    assert len(base64.b64decode(data["signature"])) == 96, "raw r‖s of P-384, as WebCrypto reads"


def test_py_wacz_accepts_the_signed_package(signed: Signed) -> None:
    said = py_wacz_validate(signed.wacz)
    assert "Validation succeeded" in said
    assert "Has signature" in said, "py-wacz read the signature (and checked its date)"


def test_openssl_keys_sign_too(crawled: Crawled, tmp_path: Path) -> None:
    """The key can come from OpenSSL (the README's command) instead of ``--new-key``."""
    openssl = shutil.which("openssl") or tool_missing("openssl is not installed")
    key = tmp_path / "key.pem"
    subprocess.run(
        [openssl, "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", str(key)],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "p.wacz"
    result = run_cli("wacz", str(crawled.directory), "--out", str(out), "--sign-key", str(key))
    assert result.returncode == 0, result.stderr
    assert "signedData" in _digest(out)


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        (None, "cannot read the signing key {key}: No such file or directory"),
        (b"not a key", "{key} is not an unencrypted PEM private key"),
        ("p256", "{key} is not an ECDSA P-384 key, the only kind WACZ readers verify"),
    ],
)
def test_an_unusable_key_is_refused_before_anything_is_written(
    crawled: Crawled, tmp_path: Path, content: bytes | str | None, sentence: str
) -> None:
    key = tmp_path / "key.pem"
    if content == "p256":
        openssl = shutil.which("openssl") or tool_missing("openssl is not installed")
        subprocess.run(
            [openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
            check=True,
            capture_output=True,
        )
    elif isinstance(content, bytes):
        key.write_bytes(content)
    out = tmp_path / "p.wacz"
    result = run_cli("wacz", str(crawled.directory), "--out", str(out), "--sign-key", str(key))
    assert result.returncode == 2
    assert result.stderr.startswith("portal-archiver: " + sentence.format(key=key))
    assert not out.exists()
    assert os.listdir(tmp_path) == (["key.pem"] if content else [])


# -- ReplayWeb.page verifies -----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with replaywebpage_browser() as launched:
        yield launched


def _verified_by_replaywebpage(browser: Any, wacz: Path) -> dict[str, Any]:
    """ReplayWeb.page's verification of ``wacz``'s signature, by id (``signature``,
    ``publicKey``, ``datapackageHash``), once it has loaded the package."""
    context = browser.new_context()
    try:
        page = context.new_page()
        with serving(wacz) as base:
            page.goto(f"{base}/embed?{urlencode({'view': 'pages'})}")
            deadline = time.monotonic() + WAIT_MS / 1000
            while True:
                rows = {row["id"].rsplit(":", 1)[-1]: row for row in page.evaluate(VERIFICATION)}
                if "signature" in rows:
                    return rows
                assert time.monotonic() < deadline, "ReplayWeb.page never verified the package"
                time.sleep(0.2)
    finally:
        context.close()


def _tampered(signed: Path, out: Path) -> Path:
    """``signed`` with its title changed after signing, and both hashes of datapackage.json
    in datapackage-digest.json updated to match: only the signature can tell."""
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(out, "w") as target:
        digest = json.loads(source.read("datapackage-digest.json"))
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "datapackage.json":
                datapackage = json.loads(data)
                datapackage["title"] = "Not what was signed"
                data = json.dumps(datapackage, ensure_ascii=False, indent=2).encode()
                new_hash = "sha256:" + hashlib.sha256(data).hexdigest()
                digest["hash"] = digest["signedData"]["hash"] = new_hash
            elif entry.filename == "datapackage-digest.json":
                continue
            target.writestr(entry, data)
        target.writestr("datapackage-digest.json", json.dumps(digest))
    return out


def test_replaywebpage_verifies_the_signed_package(browser: Any, signed: Signed) -> None:
    rows = _verified_by_replaywebpage(browser, signed.wacz)
    assert rows["signature"]["expected"] is True
    assert rows["signature"]["matched"] is True
    assert rows["publicKey"]["expected"] == signed.public_key
    assert rows["datapackageHash"]["expected"] == _digest(signed.wacz)["hash"]


def test_replaywebpage_rejects_a_package_changed_after_signing(
    browser: Any, signed: Signed, tmp_path: Path
) -> None:
    tampered = _tampered(signed.wacz, tmp_path / "tampered.wacz")
    rows = _verified_by_replaywebpage(browser, tampered)
    assert rows["signature"]["expected"] is True, "the package is still read as signed"
    assert rows["signature"]["matched"] is False

"""Anonymous WACZ signatures (https://specs.webrecorder.net/wacz-auth/0.1.0/#anonymous-signature).

The signer holds an ECDSA P-384 key of its own (no certificate, no signing server): the
package's ``datapackage-digest.json`` carries the public key and a signature of the hash of
``datapackage.json``, so anyone can check the package was not changed since it was signed;
who signed it is known only by publishing the public key elsewhere.

The encoding is the one readers check (ReplayWeb.page's wabac.js, ``verifyWACZSignature``):
``publicKey`` is the key's SubjectPublicKeyInfo DER in base64, the signed message is the
UTF-8 text of the hash (``sha256:…``), the digest SHA-256, and ``signature`` is the raw
``r‖s`` pair (WebCrypto's form, 96 bytes for P-384) in base64, not DER.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from archive.collection import CollectionError

AUTH_SPEC_VERSION = "0.1.0"
_CURVE = ec.SECP384R1()
_COORDINATE_BYTES = 48


class SigningKeyError(CollectionError):
    """A signing key that cannot be read or used (the user fixes it: exit 2, one sentence)."""


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs packages with one ECDSA P-384 private key."""

    key: ec.EllipticCurvePrivateKey

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """The key in a PEM file (PKCS#8 or OpenSSL's ``EC PRIVATE KEY``, unencrypted)."""
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise SigningKeyError(f"cannot read the signing key {path}: {error.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise SigningKeyError(
                f"{path} is not an unencrypted PEM private key "
                "(make one with `wacz --sign-key FILE --new-key`)"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE.name:
            raise SigningKeyError(
                f"{path} is not an ECDSA P-384 key, the only kind WACZ readers verify"
            )
        return cls(key)

    @property
    def public_key(self) -> str:
        """The public key as the package carries it (SubjectPublicKeyInfo DER, base64)."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def signed_data(self, package_hash: str, created: str, software: str) -> dict[str, Any]:
        """The ``signedData`` object of ``datapackage-digest.json`` for ``package_hash``
        (``sha256:…`` of datapackage.json); ``created`` is datapackage.json's own."""
        der = self.key.sign(package_hash.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
        return {
            "hash": package_hash,
            "created": created,
            "software": software,
            "version": AUTH_SPEC_VERSION,
            "signature": base64.b64encode(raw).decode("ascii"),
            "publicKey": self.public_key,
        }


def new_key(path: Path) -> Signer:
    """Write a new private key to ``path`` (readable by its owner only; never replaces a file)."""
    key = ec.generate_private_key(_CURVE)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} already exists; a key is never overwritten") from None
    except OSError as error:
        raise SigningKeyError(f"cannot write the signing key {path}: {error.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return Signer(key)

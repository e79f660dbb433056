"""Anchor signing key and anchor log: files outside the database.

The Ed25519 private key lives in a PEM file (mode 0600) created on first use; the anchor log
is a JSON-lines file, appended to and never rewritten. Copy the public key
(`queue-server anchor-key --public`) and, regularly, the log to a place the database's
administrators cannot write: what they hold is what a tampered ledger is checked against.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..domain.anchor import Anchor, SignedAnchor


class AnchorKeyError(RuntimeError):
    """The key file cannot be read, created or used; the message says which file and why."""


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The private key in `path`, generated (mode 0600) when the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        _create_key(path)
    return load_private_key(path)


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(prefix=".anchor-key-", dir=path.parent)  # mode 0600
    try:
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)  # atomic and never replaces: a concurrent first start keeps its key
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AnchorKeyError(f"cannot read the anchor key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AnchorKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The public key in `path`: a PEM public key, or derived from a PEM private key."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AnchorKeyError(f"cannot read the public key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise AnchorKeyError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AnchorKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short fingerprint of the public key: names the key that signed an anchor."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, anchor: Anchor) -> SignedAnchor:
    return SignedAnchor(anchor, key_id(key), key.sign(anchor.signed_bytes()))


def signature_ok(public: Ed25519PublicKey, signed: SignedAnchor) -> bool:
    try:
        public.verify(signed.signature, signed.anchor.signed_bytes())
    except InvalidSignature:
        return False
    return True


def append(log_path: Path, anchors: list[SignedAnchor]) -> None:
    """Append anchors to the log, one line each, flushed to disk; writers take turns."""
    if not anchors:
        return
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(a.to_line() + "\n" for a in anchors).encode("utf-8")
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock


def read_log(log_path: Path) -> list[tuple[int, SignedAnchor | str]]:
    """(line number, anchor or what is wrong with the line) for every non-empty line."""
    try:
        text = Path(log_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AnchorKeyError(f"cannot read the anchor log {log_path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise AnchorKeyError(f"the anchor log {log_path} is not UTF-8 text") from None
    entries: list[tuple[int, SignedAnchor | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append((number, SignedAnchor.from_line(line)))
        except ValueError as exc:
            entries.append((number, str(exc)))
    return entries


class AnchorFiles:
    """The service's AnchorSigner port (service/ports.py): Ed25519 signatures, a JSON-lines log."""

    sign = staticmethod(sign)
    append = staticmethod(append)
    key_id = staticmethod(key_id)
    signature_ok = staticmethod(signature_ok)

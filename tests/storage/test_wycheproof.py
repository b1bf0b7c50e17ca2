"""Project Wycheproof vectors through the project's own primitive layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storage.primitives import (
    AuthenticationError,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    hkdf_sha256,
    hmac_sha256,
    hmac_sha256_verify,
    x25519_shared,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "wycheproof"


def load(name: str) -> dict[str, Any]:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"Wycheproof vectors not found at {VECTORS} (../shared is absent)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_aes_gcm() -> None:
    checked = 0
    for group in load("aes_gcm_test.json")["testGroups"]:
        if group["tagSize"] != 128 or not 64 <= group["ivSize"] <= 1024:
            continue  # the layer offers 128-bit tags and 8-128 byte nonces
        for case in group["tests"]:
            key, iv = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
            aad, msg = bytes.fromhex(case["aad"]), bytes.fromhex(case["msg"])
            sealed = bytes.fromhex(case["ct"]) + bytes.fromhex(case["tag"])
            if case["result"] == "valid":
                assert aes_gcm_encrypt(key, iv, msg, aad) == sealed, case["tcId"]
                assert aes_gcm_decrypt(key, iv, sealed, aad) == msg, case["tcId"]
            elif case["result"] == "invalid":
                with pytest.raises((AuthenticationError, ValueError)):
                    aes_gcm_decrypt(key, iv, sealed, aad)
            checked += 1
    assert checked > 200


def test_hkdf_sha256() -> None:
    checked = 0
    for group in load("hkdf_sha256_test.json")["testGroups"]:
        for case in group["tests"]:
            ikm, salt = bytes.fromhex(case["ikm"]), bytes.fromhex(case["salt"])
            info, size = bytes.fromhex(case["info"]), case["size"]
            if case["result"] == "valid":
                assert hkdf_sha256(ikm, salt=salt, info=info, length=size).hex() == case["okm"]
            else:
                with pytest.raises(ValueError):
                    hkdf_sha256(ikm, salt=salt, info=info, length=size)
            checked += 1
    assert checked > 50


def test_hmac_sha256() -> None:
    checked = 0
    for group in load("hmac_sha256_test.json")["testGroups"]:
        tag_bytes = group["tagSize"] // 8
        for case in group["tests"]:
            key, msg, tag = (bytes.fromhex(case[k]) for k in ("key", "msg", "tag"))
            valid = hmac_sha256_verify(key, msg, tag)
            if case["result"] == "valid":
                assert valid, case["tcId"]
                assert hmac_sha256(key, msg)[:tag_bytes] == tag
            else:
                assert not valid, case["tcId"]
            checked += 1
    assert checked > 100


def test_x25519() -> None:
    checked = 0
    for group in load("x25519_test.json")["testGroups"]:
        for case in group["tests"]:
            private, public = bytes.fromhex(case["private"]), bytes.fromhex(case["public"])
            expected = bytes.fromhex(case["shared"])
            try:
                shared = x25519_shared(private, public)
            except ValueError:
                assert case["result"] != "valid" or not any(expected), case["tcId"]
            else:
                assert case["result"] != "invalid", case["tcId"]
                assert shared == expected, case["tcId"]
            checked += 1
    assert checked > 400

"""VNC authentication's DES, checked against the FIPS test vector and the cryptography package."""

from __future__ import annotations

import os

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from dom0.sim.vncauth import check_response, des_encrypt_block, vnc_key, vnc_response


def test_it_matches_the_classic_des_vector() -> None:
    key, block = bytes.fromhex("133457799BBCDFF1"), bytes.fromhex("0123456789ABCDEF")
    assert des_encrypt_block(key, block).hex() == "85e813540f0ab405"


def test_it_answers_challenges_like_an_independent_des() -> None:
    for password in ("s3cret", "pw123456", "longer-than-eight", ""):
        challenge = os.urandom(16)
        key = vnc_key(password)
        encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305 - VNC uses ECB; K1=K2=K3 is DES
        expected = encryptor.update(challenge) + encryptor.finalize()
        assert vnc_response(password, challenge) == expected
        assert check_response(password, challenge, expected)
        assert not check_response(password + "x", challenge, expected) or len(password) >= 8


def test_it_mirrors_the_bits_of_each_password_byte() -> None:
    assert vnc_key("\x01\x80") == b"\x80\x01" + b"\0" * 6

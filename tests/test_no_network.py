"""The suite's network guard (tests/conftest.py) refuses anything but loopback, at once."""

from __future__ import annotations

import socket

import pytest


def test_connection_beyond_loopback_is_refused_with_the_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError, match="moto"):
        sock.connect(("203.0.113.7", 443))


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.connect(server.getsockname())

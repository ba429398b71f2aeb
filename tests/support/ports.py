"""Ports on 127.0.0.1 for the test servers."""

from __future__ import annotations

import socket

__all__ = ["HOST", "free_port", "port_open"]

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick): for a server a test
    starts, or for a peer that must refuse connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on ``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False

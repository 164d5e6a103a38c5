"""Ports the kernel calls free on 127.0.0.1, for a local stack started by a test or a bench run: all distinct,
because the sockets are open together. Only ever 127.0.0.1 (no network but this machine)."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()

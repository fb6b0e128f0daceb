"""systemd's notify protocol (``sd_notify(3)``): ``READY=1`` once serving, ``WATCHDOG=1`` each beat,
``STATUS=`` for a human, each a datagram to ``$NOTIFY_SOCKET``. Standard library only; nothing happens
when the variable is unset (not under systemd, or not ``Type=notify``)."""

from __future__ import annotations

import os
import socket

ENVIRONMENT = "NOTIFY_SOCKET"


def notify(*states: str) -> bool:
    """Send ``states`` (``"READY=1"``, ``"STATUS=..."``) to the service manager; whether one listens."""
    address = os.environ.get(ENVIRONMENT)
    if not address or address[0] not in "@/":
        return False
    if address[0] == "@":  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(states).encode(), address)
    except OSError:
        return False
    return True

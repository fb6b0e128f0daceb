"""What both commands (``papi-cancel-all``, ``papi-guard``) share: the one exit-code table, output that
survives closed pipes, and the account's keys (systemd credentials, the environment, a key file).

Exit codes: 0 done, 1 internal error, 2 bad input, 3 authentication, 4 rate limited or banned, 5 network or
exchange unavailable after retries, 6 not flat after --confirm, 7 the dead-man's switch would not work
(papi-guard --check), 130 interrupted, 143 terminated (SIGTERM). (The one table is ``EXIT_MEANINGS``; a test
holds this docstring, the help and docs/cli.md to it.)
"""

from __future__ import annotations

import io
import os
import signal
import stat
from typing import Any, TextIO

import ccxt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from papi_plugin.errors import CancelManyFailed, NotFlat

DONE, BAD_INPUT, AUTHENTICATION, RATE_LIMITED, UNAVAILABLE, NOT_FLAT = 0, 2, 3, 4, 5, 6
INTERNAL = 1
UNPROTECTED = 7
INTERRUPTED = 130
TERMINATED = 143
# The one table of exit codes: the help, the docs and the tests read it.
EXIT_MEANINGS = {
    DONE: "done",
    INTERNAL: "internal error",
    BAD_INPUT: "bad input",
    AUTHENTICATION: "authentication",
    RATE_LIMITED: "rate limited or banned",
    UNAVAILABLE: "network or exchange unavailable after retries",
    NOT_FLAT: "not flat after --confirm",
    UNPROTECTED: "the dead-man's switch would not work (papi-guard --check)",
    INTERRUPTED: "interrupted",
    TERMINATED: "terminated (SIGTERM)",
}
EXIT_CODES_TEXT = "Exit codes: " + ", ".join(f"{code} {meaning}" for code, meaning in EXIT_MEANINGS.items()) + "."

# Most specific first: DDoSProtection, RateLimitExceeded (its sibling, not a subclass) and InvalidNonce
# are NetworkErrors, BadSymbol a BadRequest.
EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (NotFlat, NOT_FLAT),
    (CancelManyFailed, UNAVAILABLE),
    (ccxt.ArgumentsRequired, BAD_INPUT),
    (ccxt.BadRequest, BAD_INPUT),
    (ccxt.AuthenticationError, AUTHENTICATION),
    (ccxt.DDoSProtection, RATE_LIMITED),
    (ccxt.RateLimitExceeded, RATE_LIMITED),
    (ccxt.BaseError, UNAVAILABLE),
)


CREDENTIALS = "CREDENTIALS_DIRECTORY"  # systemd's LoadCredential= puts the keys' files there
CREDENTIAL_FILES = ("binance_api_key", "binance_api_secret")


def exit_code(error: Exception) -> int:
    return next((code for cls, code in EXIT_CODES if isinstance(error, cls)), INTERNAL)


class Output:
    """Lines to stdout or stderr that never stop the command: a closed pipe (``| head -1``) is written past."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed = False

    def line(self, text: str = "") -> None:
        if self.closed:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # BrokenPipeError, or a stream already closed
            self.closed = True
            self.discard()

    def discard(self) -> None:
        """Point a broken standard stream at /dev/null, so the interpreter's last flush does not fail too."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass



def keys() -> tuple[str | None, str | None]:
    """(API key, secret): from ``$CREDENTIALS_DIRECTORY/binance_api_key`` and ``/binance_api_secret`` when
    systemd passes them (``LoadCredential=``), else ``BINANCE_API_KEY`` and ``BINANCE_API_SECRET``."""
    folder = os.environ.get(CREDENTIALS)
    if folder:
        found = []
        for name in CREDENTIAL_FILES:
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    found.append(handle.read().strip() or None)
            except OSError:
                found.append(None)
        if any(found):
            return found[0], found[1]
    return os.environ.get("BINANCE_API_KEY") or None, os.environ.get("BINANCE_API_SECRET") or None


def secrets_known() -> tuple[str, ...]:
    """The key and secret this process was given, for the redaction of whatever a command prints."""
    return tuple(s for s in keys() if s)


def read_key_file(path: str, stderr: Output) -> str:
    """The PEM private key (RSA or Ed25519) in ``path``, checked before anything is signed with it."""
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
        mode = os.stat(path).st_mode
    except OSError as error:
        raise ccxt.BadRequest(f"cannot read --key-file {path}: {error.strerror}") from None
    if b"PRIVATE KEY" not in pem:
        raise ccxt.BadRequest(f"--key-file {path} holds no PEM private key")
    problem = None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        problem = type(error).__name__
    if problem is not None or not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise ccxt.BadRequest(f"--key-file {path} is not a usable unencrypted RSA or Ed25519 PEM private key")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        stderr.line(f"papi-cancel-all: warning: --key-file {path} is readable by other users; chmod 600 it")
    return pem.decode()




def handle(number: int, action: Any) -> Any:
    """``signal.signal``, where it can be (the main thread); the handler it replaced, or None."""
    if action is None:
        return None
    try:
        return signal.signal(number, action)
    except ValueError:  # not the main thread: the command is being run by a test or an embedding program
        return None

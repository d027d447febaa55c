"""How this machine joins a Ray cluster someone started with `ray start`: the head reached in seconds, the token
Ray's authentication asks for, and one line for each reason it cannot join.

Ray turns on token authentication for a head started by `ray start --head` where a token exists (Ray 2.59 for
local clusters, 2.60 wherever `~/.ray/auth_token` is; the default for every cluster from 2.61, as Ray's docs
announce), and then refuses every driver that does not send it. A driver that names the head's address does not
send the token it has unless `RAY_AUTH_MODE=token` is set. So the command joins as Ray does, and where the head
asks for a token, `RAY_AUTH_MODE` is unset and this machine holds one (`RAY_AUTH_TOKEN`, the file
`RAY_AUTH_TOKEN_PATH` names, or `~/.ray/auth_token`, in Ray's order), joins again with it. It does not send the
token first: a head without authentication takes the driver that sends one, but cancels its actors. The token
itself is never printed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fashionlab.common.errors import RevisionError

REACH_SECONDS = 5.0  # to open a connection to the head: Ray itself retries for minutes before it says so
# How many times (a second apart) Ray asks a head that answers but refuses: its default, 20, kept a driver
# without the token waiting 20 s for a refusal it had from the first answer. The head is reachable by then.
GCS_ATTEMPTS = "2"
AUTH_MODE, TOKEN, TOKEN_PATH = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"
WHERE_TOKENS_GO = (
    "put the head's (`ray get-auth-token` prints it there) in ~/.ray/auth_token, in RAY_AUTH_TOKEN, or in the "
    "file RAY_AUTH_TOKEN_PATH names"
)


def cluster_address(flag: str | None) -> str | None:
    """The cluster a command trains on: `--cluster`, else `RAY_ADDRESS` as Ray reads it, else none (this machine)."""
    return flag or os.environ.get("RAY_ADDRESS") or None


def token_source() -> str | None:
    """Where Ray reads this machine's token from, in its order (None: no token here)."""
    if os.environ.get(TOKEN):
        return TOKEN
    path = os.environ.get(TOKEN_PATH)
    default = Path.home() / ".ray" / "auth_token"
    if path:
        return path if Path(path).is_file() else None
    return "~/.ray/auth_token" if default.is_file() else None


def prepare(address: str) -> None:
    """Before Ray is imported: the head reachable, and a refusal said in seconds."""
    reachable(address)
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", GCS_ATTEMPTS)


def join(ray, address: str, options: dict) -> None:
    """`ray.init` on the head at `address`, as Ray joins; once more with this machine's token where the head asks
    for one and `RAY_AUTH_MODE` leaves it to Ray; one line (`RevisionError`) when it cannot."""
    source = token_source()
    errors = (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError)
    for attempt in ("as Ray joins", "with the token"):
        try:
            with quiet_stderr():
                ray.init(address=address, **options)
            return
        except errors as err:
            retry = attempt == "as Ray joins" and source is not None and AUTH_MODE not in os.environ
            if not (retry and _asks_for_token(err)):
                raise refused(address, err, source) from None
        os.environ[AUTH_MODE] = "token"
        from ray._raylet import Config

        Config.initialize("")  # as Ray itself turns token mode on within a process (its `_enable_token_auth`)


def _asks_for_token(err: BaseException) -> bool:
    told = _chain(err)
    return "InvalidAuthToken" in told or "no authentication token was found" in told


def reachable(address: str) -> None:
    """A head that cannot be reached, said in seconds: Ray retries for minutes before it gives up."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RevisionError(f"{address}: expected a Ray address HOST:PORT (as `ray start --head` prints), or local")
    started = time.monotonic()
    try:
        socket.create_connection((host, int(port)), timeout=REACH_SECONDS).close()
    except OSError as err:
        waited = time.monotonic() - started
        reason = err.strerror or type(err).__name__
        raise RevisionError(f"cannot reach the Ray cluster at {address}: {reason} (after {waited:.0f} s)") from None


def refused(address: str, err: BaseException, source: str | None) -> RevisionError:
    """Why Ray could not join the cluster at `address`, in one line with what to do."""
    where = f"cannot join the Ray cluster at {address}"
    if _asks_for_token(err):
        if os.environ.get(AUTH_MODE, "").lower() == "disabled":
            reason = f"it asks for Ray's token, which {AUTH_MODE}=disabled keeps from being sent: unset it"
        elif source is None:
            reason = f"it asks for Ray's token, and this machine has none: {WHERE_TOKENS_GO}"
        else:
            reason = f"it refused the token in {source}: use the head's (`ray get-auth-token` prints it there)"
        return RevisionError(f"{where}: {reason}")
    return RevisionError(f"{where}: {first_line(err)}")


def _chain(err: BaseException) -> str:
    """The messages of an error and of every error behind it (Ray keeps the refusal's in its cause)."""
    told = []
    while err is not None:
        told.append(f"{type(err).__name__}: {err}")
        err = err.__cause__ or err.__context__
    return "\n".join(told)


def first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Ray's core writes its retries to this process's stderr, past Python's logging: held back while it joins,
    so that a refusal is the one line `refused` writes."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)

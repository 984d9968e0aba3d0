"""A throwaway Dovecot IMAP server for the tests marked `mail` (Debian's dovecot-imapd).

A configuration of its own in a temporary folder, a password file, Maildirs, plain IMAP
on a free port of 127.0.0.1 (no TLS: loopback only), run in the foreground.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "secret-for-tests"


def find_dovecot() -> str | None:
    return DOVECOT if os.access(DOVECOT, os.X_OK) else shutil.which("dovecot")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = {user}
default_login_user = {user}
default_internal_group = {group}
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class DovecotServer:
    """Users are added before `start`; each has PASSWORD."""

    def __init__(self, binary: str, users: list[str]) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="kakehashi-dovecot-"))
        self.root.chmod(0o755)  # the mail processes run as an unprivileged user
        self.port = _free_port()
        self.users = users
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import grp
        import pwd

        if os.getuid() == 0:  # Dovecot never runs mail processes as root
            user = pwd.getpwnam("nobody")
            uid, gid = user.pw_uid, user.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        name, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir()
        os.chown(self.root / "mail", uid, gid)
        (self.root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in self.users))
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid, user=name, group=group)
        )
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"dovecot did not start: {err}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not listen within 15 s")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def remove(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr is not None:
                self._process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

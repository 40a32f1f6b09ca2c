"""Run a command on a pseudo-terminal, answering each "passphrase:" prompt.

signify reads passphrases with readpassphrase(3) from /dev/tty only, so tests drive it through a
pty. Usage: pty-passphrase.py TIMEOUT_SECONDS PASSPHRASE CMD [ARG...]. Exits with the command's
status (124 on timeout); the terminal output goes to stdout.
"""
import os
import pty
import select
import signal
import sys
import time


def main() -> int:
    timeout = float(sys.argv[1])
    answer = (sys.argv[2] + "\n").encode()
    cmd = sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    deadline = time.monotonic() + timeout
    seen = b""
    answered = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.write(seen.decode(errors="replace"))
            return 124
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        seen += chunk
        # Answer every prompt once; readpassphrase flushes earlier input, so answer only after it.
        while seen.lower().count(b"passphrase:") > answered:
            os.write(fd, answer)
            answered += 1
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())

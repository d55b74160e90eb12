"""``python -m fxlabel label INPUT --out DIR ...``: the command-line
program, with the native CLI's flags, messages and exit codes (it is the
same program, compiled into the extension)."""

import signal
import sys

from ._fxlabel import cli


def main() -> int:
    # Ctrl-C ends the process as it ends the native CLI: finished files
    # stay, a temporary one is removed by the next run.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return cli(["fxlabel", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())

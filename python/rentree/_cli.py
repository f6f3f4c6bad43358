"""The ``rentree`` console command: the library's command line, through the native module."""

import sys

from . import _native


def main() -> None:
    """Runs ``rentree`` with this process's arguments and exits with its code."""
    sys.exit(_native.main(["rentree", *sys.argv[1:]]))


if __name__ == "__main__":
    main()

"""Swaps two names with renameat2(RENAME_EXCHANGE) in a loop.

Usage: symlink_swapper.py A B SECONDS
Prints "ready" once the first swap succeeded, stops after SECONDS or when
standard input closes, and prints the number of swaps.
"""

import ctypes
import os
import select
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 2


def main() -> None:
    a, b, seconds = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = libc.renameat2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    deadline = time.monotonic() + min(seconds, 120.0)
    swaps = 0
    while time.monotonic() < deadline:
        for _ in range(200):
            if renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
                err = ctypes.get_errno()
                sys.stderr.write(f"renameat2: {os.strerror(err)}\n")
                sys.exit(1)
            swaps += 1
        if swaps == 200:
            print("ready", flush=True)
        if select.select([sys.stdin], [], [], 0)[0] and not sys.stdin.read(1):
            break
    # Leave the names as they were, so the caller finds its layout again.
    if swaps % 2 == 1:
        renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
        swaps += 1
    print(swaps, flush=True)


main()

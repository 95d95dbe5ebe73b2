# sessiond version
VERSION = 0.1

# paths
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man

# flags
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -DVERSION=\"$(VERSION)\"
# -Os: small and fast enough; no unwind tables: C without exceptions
# or backtraces has no use for 8 KB of them; -fno-plt: libc is called
# through the GOT, bound at start, not through 1 KB of PLT stubs
CFLAGS   = -std=c99 -pedantic -Wall -Wextra -Os -fno-asynchronous-unwind-tables -fno-plt
LDFLAGS  =

# compiler and linker
CC = cc

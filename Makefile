# sessiond - session state daemon for coding agents
# See LICENSE file for copyright and license details.
.POSIX:

include config.mk

SRC = sessiond.c proto.c store.c ring.c json.c
OBJ = $(SRC:.c=.o)
SCRIPTS = sessiond-hook sessiond-setup sessiond-usage

all: sessiond

# POSIX's own .c.o rule leaves out CPPFLAGS, and with it VERSION
.c.o:
	$(CC) $(CFLAGS) $(CPPFLAGS) -c $<

$(OBJ): config.h config.mk sessiond.h

config.h:
	cp config.def.h $@

sessiond: $(OBJ)
	$(CC) -o $@ $(OBJ) $(LDFLAGS)

test: sessiond
	CC="$(CC)" ./test.sh

bench: sessiond
	CC="$(CC)" sh bench/run.sh ./sessiond

fuzz:
	sh test/fuzz.sh $(FUZZTIME)

clean:
	rm -f sessiond $(OBJ) sessiond-$(VERSION).tar.gz
	rm -rf test/build

dist: clean
	mkdir -p sessiond-$(VERSION)
	cp -R LICENSE Makefile README config.def.h config.mk sessiond.1 \
		sessiond.h $(SRC) $(SCRIPTS) test.sh test bench \
		sessiond-$(VERSION)
	tar -cf - sessiond-$(VERSION) | gzip > sessiond-$(VERSION).tar.gz
	rm -rf sessiond-$(VERSION)

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	cp -f sessiond $(SCRIPTS) $(DESTDIR)$(PREFIX)/bin
	cd $(DESTDIR)$(PREFIX)/bin && chmod 755 sessiond $(SCRIPTS)
	mkdir -p $(DESTDIR)$(MANPREFIX)/man1
	cp -f sessiond.1 $(DESTDIR)$(MANPREFIX)/man1/sessiond.1
	chmod 644 $(DESTDIR)$(MANPREFIX)/man1/sessiond.1

uninstall:
	cd $(DESTDIR)$(PREFIX)/bin && rm -f sessiond $(SCRIPTS)
	rm -f $(DESTDIR)$(MANPREFIX)/man1/sessiond.1

.PHONY: all test bench fuzz clean dist install uninstall

# pozytywka — PGXS build.
#
#   make && make install          build and install the extension, pozytywka-import and pozytywka-report
#   test/run_tests.sh             every suite (C unit, pg_regress, pgTAP) on a throwaway cluster
#
# The install script is concatenated from src/sql/NN_*.sql (one file per SQL area).

EXTENSION = pozytywka
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" pozytywka.control)

CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/*.c))
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))

MODULE_big = pozytywka
OBJS = $(GLUE_SRCS:.c=.o) $(CORE_SRCS:.c=.o)
DATA_built = pozytywka--$(EXTVERSION).sql
# ---- releases: versioned scripts (CHANGELOG.md; README "Upgrades, backup and packages")
# The install script pozytywka--$(EXTVERSION).sql of default_version (pozytywka.control) is
# built from src/sql/NN_*.sql above; the upgrade scripts pozytywka--OLD--NEW.sql from every
# release on are written by hand in src/sql/upgrade/ and installed as they are.
# test/shell/upgrade.sh checks that each release updated to this version equals a fresh install.
UPGRADE_SCRIPTS = $(sort $(wildcard src/sql/upgrade/pozytywka--*--*.sql))
DATA = $(UPGRADE_SCRIPTS)
# ---- end of releases
EXTRA_CLEAN = test/unit/bin test/fuzz/bin

REGRESS = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=build/regress

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Isrc -Isrc/core -DPGDLLEXPORT='__attribute__((visibility("default")))'
SHLIB_LINK = -lgsl -lgslcblas -lm

# pozytywka-import: built by the importer block below (before the include:
# PGXS's all and install rules read SCRIPTS_built)
SCRIPTS_built = bin/pozytywka-import
# pozytywka-report: a shell script (psql + report_html()), installed as it is
SCRIPTS = src/client/pozytywka-report


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The flags PostgreSQL's build gives a module (pg_config --cflags: -O2,
# -fno-strict-aliasing, -fwrapv, -fexcess-precision=standard, ...), before
# ours are added: the unit tests build the core with them too.
PG_MODULE_CFLAGS := $(CFLAGS)

# After the include: PGXS assigns CFLAGS (with -O2), and an 'override' before
# it would have replaced them, building the extension without optimisation.
# -Wclobbered (from -Wextra, active only with optimisation) flags every
# PG_TRY block's own _do_rethrow; locals changed inside PG_TRY and read in
# PG_CATCH must still be volatile.
override CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-clobbered

# Export only what PostgreSQL looks up in the module (Pg_magic_func, _PG_init,
# the SQL entry points and their pg_finfo_*), as PostgreSQL 16 builds modules:
# every other symbol is hidden, so the core's names cannot clash with another
# library loaded into the same backend.  PGDLLEXPORT (empty on Linux in 15)
# marks the exported ones; src/pozytywka.h puts it on each SQL entry point.
# test/shell/exports.sh checks the list.
override CFLAGS += -fvisibility=hidden

pozytywka--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

$(OBJS): $(wildcard src/*.h src/core/*.h)

# ---------------------------------------------------------------- importer (pozytywka-import)
# A libpq client, not part of the server module: its line parser lives in
# src/core/import_line.c (pure C, also in the unit tests and the fuzzer).
# Built as bin/pozytywka-import and installed into pg_config --bindir.
IMPORT_SRCS = src/client/pozytywka_import.c src/core/import_line.c
IMPORT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -Isrc/core -I$(shell $(PG_CONFIG) --includedir)
bin/pozytywka-import: $(IMPORT_SRCS) src/core/import_line.h
	@mkdir -p $(@D)
	$(CC) $(IMPORT_CFLAGS) -o $@ $(IMPORT_SRCS) -L$(shell $(PG_CONFIG) --libdir) -lpq -lz
# ---------------------------------------------------------------- end importer

# ---------------------------------------------------------------- C unit tests
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(patsubst test/unit/%.c,test/unit/bin/%,$(UNIT_SRCS))
# The core is tested as the module builds it: PostgreSQL's flags for a
# module (PG_MODULE_CFLAGS above), and stricter warnings.
UNIT_CFLAGS = $(PG_MODULE_CFLAGS) -Wall -Wextra -Werror -Isrc/core
# The sanitizer build uses clang with the flags PostgreSQL gives clang for
# the module's bitcode (BITCODE_CFLAGS: -fno-strict-aliasing -fwrapv ...);
# the GCC-only ones of PG_MODULE_CFLAGS would stop clang.
UNIT_ASAN_CFLAGS = $(BITCODE_CFLAGS) -g -Wall -Wextra -Werror -Isrc/core

test/unit/bin/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h) test/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) -lgsl -lgslcblas -lm

unit-bins: $(UNIT_BINS)

# Sanitizer build of the same tests (AddressSanitizer + UndefinedBehaviorSanitizer).
test/unit/bin/asan/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h) test/unit/tap.h
	@mkdir -p $(@D)
	clang $(UNIT_ASAN_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all -o $@ $< $(CORE_SRCS) -lgsl -lgslcblas -lm

unit-asan-bins: $(patsubst test/unit/%.c,test/unit/bin/asan/%,$(UNIT_SRCS))

# ---------------------------------------------------------------- fuzzing
FUZZ_SRCS = $(sort $(wildcard test/fuzz/fuzz_*.c))
test/fuzz/bin/%: test/fuzz/%.c $(CORE_SRCS)
	@mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core -o $@ $< $(CORE_SRCS) -lgsl -lgslcblas -lm

fuzz-bins: $(patsubst test/fuzz/%.c,test/fuzz/bin/%,$(FUZZ_SRCS))

.PHONY: unit-bins unit-asan-bins fuzz-bins

# ---------------------------------------------------------------- formatting
# The code follows PostgreSQL's pgindent style.  pgindent is rarely installed;
# .clang-format approximates it for clang-format.  It cannot place declared
# names on pgindent's tab stops, so the tree as a whole is not clang-formatted
# (about one line in six would change): use FORMAT_FILES to format or check
# the files you wrote, e.g.  make format-check FORMAT_FILES=src/core/new.c
CLANG_FORMAT ?= clang-format
FORMAT_FILES ?= $(sort $(wildcard src/*.c src/*.h src/*/*.c src/*/*.h test/unit/*.c test/unit/*.h test/fuzz/*.c))

format:
	$(CLANG_FORMAT) -i --style=file:$(CURDIR)/.clang-format $(FORMAT_FILES)

# Lists every file clang-format would change and fails if there is one.
format-check:
	@status=0; \
	for f in $(FORMAT_FILES); do \
		$(CLANG_FORMAT) --style=file:$(CURDIR)/.clang-format "$$f" | cmp -s "$$f" - || { echo "needs formatting: $$f"; status=1; }; \
	done; \
	exit $$status

.PHONY: format format-check

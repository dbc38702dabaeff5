# scripts/lib.sh — shared by the demo, the test runner and the benchmarks.
# Source it; it defines functions only.
#
# pz_install_deps  : apt-get install what is missing (Debian 12, as root)
# pz_build_install : make && make install (extension + pozytywka-import)
# pz_cluster_start : a throwaway PostgreSQL 15 cluster in a fresh temporary
#                    directory owned by the postgres user, on a free port,
#                    exporting PGHOST/PGPORT/PGUSER; never touches another cluster
# pz_cluster_stop  : stop it and remove its directory
# pz_timed SQL     : print the statement's run time in seconds as psql's
#                    \timing reports it (no client start-up), or n/a
# pz_install_chromium : apt-get install Debian's chromium (the headless
#                    browser of test/shell/report.sh) when it is missing;
#                    not in PZ_DEPS: ~120 MB that only that test needs

PZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PZ_PG_BIN=/usr/lib/postgresql/15/bin
export PZ_PG_BIN
# PZ_PRIVATE_PG=DIR: use (and make, when missing) a private copy of the
# PostgreSQL 15 tree in DIR and install the extension there, not into the
# shared /usr/share/postgresql/15.  PostgreSQL finds share/ and lib/ relative
# to its binary, so several checkouts on one machine can build and test at
# once without swapping the extension under each other's clusters.
PZ_PRIVATE_PG=${PZ_PRIVATE_PG:-}
if [ -n "$PZ_PRIVATE_PG" ]; then
	PZ_PG_BIN=$PZ_PRIVATE_PG/usr/lib/postgresql/15/bin
	PATH=$PZ_PG_BIN:$PATH
	export PATH PZ_PRIVATE_PG
fi
PZ_DEPS="make gcc clang libc6-dev postgresql-15 postgresql-server-dev-15 libgsl-dev
	postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-15-cron valgrind
	libclang-rt-14-dev bc python3 libpq-dev zlib1g-dev"

pz_log() { printf '== %s\n' "$*" >&2; }

pz_install_deps() {
	local missing=()
	for p in $PZ_DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		pz_log "installing: ${missing[*]}"
		if [ "$(id -u)" -ne 0 ]; then
			echo "missing packages (${missing[*]}); run as root or install them" >&2
			return 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		# the server package may start a 15/main cluster on 5432; we never use it
		apt-get update -qq >/dev/null &&
			apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
	fi
}

pz_private_pg_copy() {
	[ -x "$PZ_PG_BIN/postgres" ] && return 0
	pz_log "private PostgreSQL tree in $PZ_PRIVATE_PG"
	mkdir -p "$PZ_PRIVATE_PG/usr/lib/postgresql" "$PZ_PRIVATE_PG/usr/share/postgresql" &&
		chmod 755 "$PZ_PRIVATE_PG" &&
		cp -a /usr/lib/postgresql/15 "$PZ_PRIVATE_PG/usr/lib/postgresql/" &&
		cp -a /usr/share/postgresql/15 "$PZ_PRIVATE_PG/usr/share/postgresql/"
}

pz_build_install() {
	pz_log "building and installing pozytywka"
	make -C "$PZ_ROOT" -s -j2 PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null || return 1
	if [ -n "$PZ_PRIVATE_PG" ]; then
		pz_private_pg_copy &&
			make -C "$PZ_ROOT" -s install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \
				DESTDIR="$PZ_PRIVATE_PG" >/dev/null
	else
		make -C "$PZ_ROOT" -s install >/dev/null
	fi
}

# pz_cluster_start [extra postgresql.conf lines...]
pz_cluster_start() {
	PZ_CLUSTER_DIR=$(mktemp -d /tmp/pozytywka-pg.XXXXXX)
	chown postgres: "$PZ_CLUSTER_DIR"
	local port=55432
	while [ -e "/tmp/.s.PGSQL.$port" ] || ss -ltn 2>/dev/null | grep -q ":$port "; do
		port=$((port + 1))
	done
	runuser -u postgres -- "$PZ_PG_BIN/initdb" -D "$PZ_CLUSTER_DIR/data" -U postgres \
		--auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$PZ_CLUSTER_DIR/initdb.log" 2>&1 || {
		cat "$PZ_CLUSTER_DIR/initdb.log" >&2
		return 1
	}
	{
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$PZ_CLUSTER_DIR'"
		echo "fsync = off"
		echo "shared_buffers = 512MB"
		echo "work_mem = 64MB"
		echo "maintenance_work_mem = 512MB"
		echo "max_wal_size = 8GB"
		echo "shared_preload_libraries = 'pg_cron'"
		echo "cron.database_name = 'postgres'"
		for line in "$@"; do echo "$line"; done
	} >>"$PZ_CLUSTER_DIR/data/postgresql.conf"
	runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "$PZ_CLUSTER_DIR/data" -w -t 60 \
		-l "$PZ_CLUSTER_DIR/server.log" start >/dev/null || {
		cat "$PZ_CLUSTER_DIR/server.log" >&2
		return 1
	}
	export PGHOST=$PZ_CLUSTER_DIR PGPORT=$port PGUSER=postgres PZ_CLUSTER_DIR
	pz_log "throwaway cluster on port $port in $PZ_CLUSTER_DIR"
}

pz_cluster_stop() {
	[ -n "${PZ_CLUSTER_DIR:-}" ] && [ -d "$PZ_CLUSTER_DIR" ] || return 0
	runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "$PZ_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$PZ_CLUSTER_DIR"
	unset PZ_CLUSTER_DIR
}

pz_install_chromium() {
	command -v chromium >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || return 1
	pz_log "installing chromium (headless browser for the report test)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || {
		apt-get update -qq >/dev/null 2>&1 &&
			apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1
	} || return 1
	command -v chromium >/dev/null 2>&1
}

pz_timed() {
	local out
	out=$(psql -X -q -v ON_ERROR_STOP=1 -c '\timing on' -c "$1" 2>&1) || { echo "n/a"; return; }
	printf '%.3f' "$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1 | awk '{ print $1 / 1000 }')"
}

# ---- several servers (issue 14) -------------------------------------------
# pz_citus_install : build Citus 13.2 from ../shared/vendor/citus-13.2 (the
#                    vendor build.sh's steps) and install it into the private
#                    tree when PZ_PRIVATE_PG is set, else into the system tree;
#                    skipped when citus.so is already there (built once, cached).
#                    Returns 2 when the vendor sources are not available.
pz_citus_install() {
	local vendor=$PZ_ROOT/../shared/vendor/citus-13.2 libdir
	libdir=$PZ_PRIVATE_PG$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)
	[ -f "$libdir/citus.so" ] && [ -f "$PZ_PRIVATE_PG/usr/share/postgresql/15/extension/citus.control" ] && return 0
	[ -f "$vendor/citus-13.2-src.tar.gz" ] || return 2
	if [ -z "$PZ_PRIVATE_PG" ]; then
		bash "$vendor/build.sh" >&2
		return
	fi
	pz_private_pg_copy || return 1
	pz_log "building Citus 13.2 into $PZ_PRIVATE_PG (once)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-server-dev-15 libcurl4-openssl-dev \
		liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev \
		build-essential patch >/dev/null || return 1
	local work rc=0
	work=$(mktemp -d)
	(
		set -e
		tar -xzf "$vendor/citus-13.2-src.tar.gz" -C "$work"
		cd "$work/citus-13.2"
		patch -p1 -s <"$vendor/pg15.20-have_createdb_privilege.patch"
		./configure PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null
		make -s -j"$(nproc)" >/dev/null
		make -s install DESTDIR="$PZ_PRIVATE_PG" >/dev/null
	) || rc=1
	rm -rf "$work"
	return $rc
}
# ---- end several servers ----------------------------------------------------

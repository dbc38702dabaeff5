#!/usr/bin/env bash
# Packages: PGXN's META.json and the Debian package.
#  1. META.json is valid JSON with the PGXN Meta Spec's required keys and
#     agrees with pozytywka.control (version, the extension's file)
#  2. the Debian source package in debian/ builds postgresql-15-pozytywka
#     with pg_buildext (dpkg-buildpackage -us -uc -b in a temporary copy of
#     the tree; the build dependencies are installed with apt-get when
#     missing), lintian finds no error, and the package holds the library,
#     the control file, the install script of default_version, every upgrade
#     script, pozytywka-import and pozytywka-report
# Never installs the package: that would replace the extension in the shared
# PostgreSQL tree.
set -u
cd "$(dirname "$0")/../.."
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" pozytywka.control)

# ---- 1. META.json
# (no network: the required keys and value types of https://pgxn.org/meta/spec.txt)
out=$(python3 - "$VERSION" <<'PY' 2>&1
import json, re, os, sys
version = sys.argv[1]
errors = []
try:
    meta = json.load(open("META.json"))
except Exception as e:
    print("META.json is not JSON: %s" % e); sys.exit(1)
semver = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+)?$")
term = re.compile(r"^[^\s/\\:]{2,}$")
licenses = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd",
            "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit",
            "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay",
            "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown"}
for key in ("name", "abstract", "maintainer", "license", "provides", "meta-spec", "version"):
    if key not in meta:
        errors.append("required key %s missing" % key)
if meta.get("meta-spec", {}).get("version") != "1.0.0":
    errors.append("meta-spec.version must be 1.0.0")
if not term.match(str(meta.get("name", ""))):
    errors.append("name is not a PGXN term")
if not semver.match(str(meta.get("version", ""))):
    errors.append("version %r is not a semantic version" % meta.get("version"))
if meta.get("version") != version:
    errors.append("version %s differs from default_version %s" % (meta.get("version"), version))
if not isinstance(meta.get("abstract"), str) or not meta.get("abstract"):
    errors.append("abstract must be a non-empty string")
m = meta.get("maintainer")
if not (isinstance(m, str) or (isinstance(m, list) and m and all(isinstance(x, str) for x in m))):
    errors.append("maintainer must be a string or a list of strings")
lic = meta.get("license")
if isinstance(lic, str):
    if lic not in licenses:
        errors.append("license %r is not one of the spec's names" % lic)
elif isinstance(lic, list):
    errors += ["license %r is not one of the spec's names" % l for l in lic if l not in licenses]
elif not isinstance(lic, dict):
    errors.append("license must be a string, a list or an object")
prov = meta.get("provides", {})
if not isinstance(prov, dict) or not prov:
    errors.append("provides must be a non-empty object")
else:
    for ext, p in prov.items():
        if not term.match(ext):
            errors.append("provides: %s is not a PGXN term" % ext)
        if "file" not in p or "version" not in p:
            errors.append("provides.%s needs file and version" % ext)
        if not semver.match(str(p.get("version", ""))):
            errors.append("provides.%s.version is not a semantic version" % ext)
        for k in ("file", "docfile"):
            if k in p and not os.path.exists(p[k]):
                errors.append("provides.%s.%s: no file %s" % (ext, k, p[k]))
    if "pozytywka" not in prov or prov["pozytywka"].get("version") != version:
        errors.append("provides.pozytywka.version must be %s" % version)
if meta.get("release_status", "stable") not in ("stable", "testing", "unstable"):
    errors.append("release_status must be stable, testing or unstable")
for phase, rels in meta.get("prereqs", {}).items():
    if phase not in ("configure", "build", "test", "runtime", "develop"):
        errors.append("prereqs: unknown phase %s" % phase)
    for rel, reqs in rels.items():
        if rel not in ("requires", "recommends", "suggests", "conflicts"):
            errors.append("prereqs.%s: unknown relation %s" % (phase, rel))
        for name, v in reqs.items():
            if not (v == 0 or (isinstance(v, str) and re.match(r"^(==|>=|<=|!=|>|<)?\s*\d", v))):
                errors.append("prereqs.%s.%s.%s: bad version %r" % (phase, rel, name, v))
tags = meta.get("tags", [])
if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in tags):
    errors.append("tags must be a list of strings of 1-255 characters")
print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
)
ok $? "META.json: PGXN Meta Spec 1.0.0 required keys and types, version $VERSION as in pozytywka.control"
[ -n "$out" ] && echo "$out" | sed 's/^/#   /'

# ---- 2. the Debian package
BUILD_DEPS="dpkg-dev debhelper lintian fakeroot libgsl-dev postgresql-server-dev-15"
missing=()
for p in $BUILD_DEPS postgresql-server-dev-all; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "# installing ${missing[*]}"
	# postgresql-server-dev-all of the installed postgresql-common: a newer one
	# would upgrade postgresql-common under the machine's clusters
	pkgs=()
	for p in "${missing[@]}"; do
		if [ "$p" = postgresql-server-dev-all ]; then
			pkgs+=("postgresql-server-dev-all=$(dpkg-query -W -f='${Version}' postgresql-common)")
		else
			pkgs+=("$p")
		fi
	done
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >/tmp/pz_package_apt.log 2>&1
fi
missing=()
for p in $BUILD_DEPS postgresql-server-dev-all; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} = 0 ]
ok $? "build dependencies installed (missing: ${missing[*]:-none})"
[ ${#missing[@]} = 0 ] || { tail -5 /tmp/pz_package_apt.log | sed 's/^/#   /'; echo "1..$n"; exit 1; }

tmp=$(mktemp -d /tmp/pz_package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/pozytywka-$VERSION"
# the tree as committed plus what is not ignored (no build products)
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' |
		tar --null -T - -cf - | tar -xf - -C "$tmp/pozytywka-$VERSION"
else
	tar --exclude='./*.o' --exclude='./*.so' --exclude='./*.bc' --exclude='./pozytywka--[0-9]*.sql' \
		--exclude=./build --exclude=./test/unit/bin --exclude=./test/fuzz/bin -cf - . | tar -xf - -C "$tmp/pozytywka-$VERSION"
fi
start=$(date +%s)
(cd "$tmp/pozytywka-$VERSION" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
rc=$?
deb=$(ls "$tmp"/postgresql-15-pozytywka_"$VERSION"-*_*.deb 2>/dev/null | head -1)
[ $rc = 0 ] && [ -n "$deb" ]
ok $? "dpkg-buildpackage -us -uc -b builds $(basename "${deb:-postgresql-15-pozytywka (none)}") in $(($(date +%s) - start)) s"
[ $rc = 0 ] || tail -20 "$tmp/build.log" | sed 's/^/#   /'

if [ -n "$deb" ]; then
	changes=$(ls "$tmp"/pozytywka_"$VERSION"-*_*.changes | head -1)
	lintian --fail-on error --no-tag-display-limit "$changes" >"$tmp/lintian.out" 2>&1
	rc=$?
	ok $rc "lintian finds no error ($(grep -c '^E:' "$tmp/lintian.out") errors, $(grep -c '^W:' "$tmp/lintian.out") warnings, $(grep -c '^I:' "$tmp/lintian.out") infos)"
	grep -E '^(E|W):' "$tmp/lintian.out" | head -20 | sed 's/^/#   /'

	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's/^\.//' >"$tmp/files"
	expect="/usr/lib/postgresql/15/lib/pozytywka.so
/usr/share/postgresql/15/extension/pozytywka.control
/usr/share/postgresql/15/extension/pozytywka--$VERSION.sql
/usr/lib/postgresql/15/bin/pozytywka-import
/usr/lib/postgresql/15/bin/pozytywka-report
/usr/share/doc/postgresql-15-pozytywka/changelog.gz"
	for u in src/sql/upgrade/pozytywka--*--*.sql; do
		expect="$expect
/usr/share/postgresql/15/extension/$(basename "$u")"
	done
	absent=$(echo "$expect" | while read -r f; do grep -qxF "$f" "$tmp/files" || echo "$f"; done)
	[ -z "$absent" ]
	ok $? "the package holds the library, the control file, pozytywka--$VERSION.sql, $(ls src/sql/upgrade/pozytywka--*--*.sql | wc -l) upgrade script(s), pozytywka-import, pozytywka-report and CHANGELOG.md as the upstream changelog (missing: ${absent:-none})"
	dpkg-deb -x "$deb" "$tmp/root"
	cmp -s "$tmp/root/usr/share/postgresql/15/extension/pozytywka--$VERSION.sql" <(cat $(ls src/sql/*.sql | LC_ALL=C sort))
	ok $? "its install script is the concatenation of src/sql/NN_*.sql"
	[ "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" = "postgresql-15-pozytywka $VERSION" ] &&
		dpkg-deb -f "$deb" Depends | grep -q 'postgresql-15'
	ok $? "control: $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version), depends on $(dpkg-deb -f "$deb" Depends | grep -o 'postgresql-15[^,]*' | head -1)"
fi
echo "1..$n"

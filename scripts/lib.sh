# shellcheck shell=bash
# Shared bootstrap for scripts/run and scripts/test. Source it, do not run it.
#
# Everything here is idempotent: on a machine that already has the Debian packages, the virtualenv and
# the requirements, a bootstrap costs a few Python start-ups and touches no network.
#
# Variables it reads: PYTHON (interpreter to build the virtualenv with), VENV (default .venv),
# REDIS_URL (when set, no private redis-server is started).

ALC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALC_NAME="scripts/${0##*/}" # the calling script, for messages
ALC_VAR="$ALC_ROOT/var"
VENV="${VENV:-.venv}"
case "$VENV" in
/*) ;;
*) VENV="$ALC_ROOT/$VENV" ;;
esac
# Debian packages a caller needs on top of the base ones; scripts/test adds PostGIS after sourcing this.
ALC_EXTRA_PACKAGES=()
_ALC_APT_UPDATED=0

alc_say() { printf '==> %s\n' "$*"; }
alc_warn() { printf '%s: warning: %s\n' "$ALC_NAME" "$*" >&2; }
alc_die() {
	printf '%s: error: %s\n' "$ALC_NAME" "$1" >&2
	shift
	local line
	for line in "$@"; do printf '  %s\n' "$line" >&2; done
	exit 1
}

# A URL with its password replaced by ***, for messages.
alc_redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# True while the process runs (a zombie, exited but not yet reaped, counts as gone).
alc_alive() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $state && $state != Z* ]]
}

# Start a command in the background in its own session, so that a Ctrl-C in the terminal reaches only
# the calling script, which then stops its children in order. The child's pid is left in $!.
alc_spawn() {
	if command -v setsid >/dev/null 2>&1; then
		setsid "$@" &
	else
		"$@" &
	fi
}

# --- Debian packages ------------------------------------------------------------------------------

_alc_installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# Install the given Debian packages that are not installed yet, in one apt-get call.
alc_ensure_packages() {
	local missing=() pkg
	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		alc_warn "not a Debian or Ubuntu system (no dpkg/apt-get); make sure these are installed: $*"
		return 0
	fi
	for pkg in "$@"; do
		_alc_installed "$pkg" || missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	local as_root=()
	if [[ $(id -u) -ne 0 ]]; then
		if command -v sudo >/dev/null 2>&1; then
			as_root=(sudo)
		else
			alc_die "these Debian packages are missing and this user can neither install them nor use sudo:" \
				"${missing[*]}" \
				"Install them as root:  apt-get update && apt-get install -y ${missing[*]}" \
				"then run $ALC_NAME again."
		fi
	fi
	alc_say "Installing Debian packages: ${missing[*]}"
	if ((!_ALC_APT_UPDATED)); then
		"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
		_ALC_APT_UPDATED=1
	fi
	# A package such as nginx starts its service on installing (nginx on port 80, with Debian's default
	# site). The scripts run their own with their own configuration, so forbid that start for the install.
	local policy=/usr/sbin/policy-rc.d added_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# Written by %s while it installs packages; removed afterwards.\nexit 101\n' "$ALC_NAME" |
			"${as_root[@]}" tee "$policy" >/dev/null && "${as_root[@]}" chmod 755 "$policy" && added_policy=1
	fi
	local status=0
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		status=$?
	((added_policy)) && "${as_root[@]}" rm -f "$policy"
	return "$status"
}

# --- Python ---------------------------------------------------------------------------------------

# Exits non-zero with the reason on its last line when this interpreter cannot run Alcabala:
# Python 3.11+ whose sqlite3 module can load the SpatiaLite extension (GeoDjango's embedded backend).
# Written for any Python 3, so that an old interpreter explains itself instead of failing to parse.
_ALC_PY_CHECK='
import sys
def refuse(reason):
    sys.exit("alcabala-check: " + reason)
if sys.version_info < (3, 11):
    refuse("Python %d.%d is too old; Alcabala needs 3.11 or newer" % sys.version_info[:2])
import sqlite3
conn = sqlite3.connect(":memory:")
if not hasattr(conn, "enable_load_extension"):
    refuse("its sqlite3 module was built without extension loading (no enable_load_extension)")
conn.enable_load_extension(True)
try:
    conn.load_extension("mod_spatialite")
except sqlite3.OperationalError as exc:
    refuse("it cannot load mod_spatialite (%s)" % exc)
'

# Prints why interpreter $1 is unusable and returns 1; returns 0 silently when it is fine.
_alc_python_problem() {
	local out reason
	out=$("$1" -c "$_ALC_PY_CHECK" 2>&1) && return 0
	# Our own verdict if the check got that far; otherwise the first thing the interpreter (or a
	# pyenv shim without that version) said.
	reason=$(printf '%s\n' "$out" | sed -n 's/^alcabala-check: //p' | head -n 1)
	[[ -n $reason ]] || reason=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | head -n 1)
	printf '%s' "${reason:-it failed to start}"
	return 1
}

# Sets ALC_PYTHON to the first usable interpreter: $PYTHON if set, otherwise the first good candidate.
alc_pick_python() {
	local candidates=() candidate path reason tried=()
	if [[ -n ${PYTHON:-} ]]; then
		candidates=("$PYTHON")
	else
		candidates=(/usr/bin/python3 python3.13 python3.12 python3.11 python3)
	fi
	for candidate in "${candidates[@]}"; do
		if ! path=$(command -v "$candidate" 2>/dev/null); then
			tried+=("$candidate: not found")
			continue
		fi
		if reason=$(_alc_python_problem "$path"); then
			ALC_PYTHON=$path
			return 0
		fi
		[[ $path == "$candidate" ]] || candidate="$candidate ($path)"
		tried+=("$candidate: ${reason:-failed the check}")
	done
	if [[ -n ${PYTHON:-} ]]; then
		alc_die "PYTHON=$PYTHON cannot run Alcabala:" "${tried[@]}" \
			"It needs Python 3.11+ whose sqlite3 module can load mod_spatialite." \
			"Unset PYTHON to let $ALC_NAME pick one, or point it at such an interpreter."
	fi
	alc_die "no Python interpreter here can run Alcabala. Tried:" "${tried[@]}" \
		"It needs Python 3.11+ whose sqlite3 module can load the SpatiaLite extension (mod_spatialite)." \
		"Fix: install Debian's Python and SpatiaLite (apt-get install python3 python3-venv libsqlite3-mod-spatialite)" \
		"or set PYTHON=/path/to/python3 to an interpreter built with SQLite extension loading."
}

# Creates $VENV, or recreates it when its interpreter fails the check or is not the one PYTHON names.
alc_ensure_venv() {
	if [[ -x $VENV/bin/python ]] && _alc_python_problem "$VENV/bin/python" >/dev/null; then
		if [[ -z ${PYTHON:-} ]]; then
			return 0
		fi
		# PYTHON was given: keep the virtualenv only if it was made from that interpreter.
		local want have
		want=$("$(command -v "$PYTHON")" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null || true)
		have=$(readlink -f "$VENV/bin/python" || true)
		[[ -n $want && $want == "$have" ]] && return 0
	fi
	alc_pick_python
	if [[ -e $VENV ]]; then
		[[ -f $VENV/pyvenv.cfg ]] ||
			alc_die "VENV=$VENV exists but is not a virtualenv; move it away or set VENV to another path."
		alc_say "Recreating the virtualenv $VENV with $ALC_PYTHON"
		rm -rf -- "$VENV"
	else
		alc_say "Creating the virtualenv $VENV with $ALC_PYTHON"
	fi
	"$ALC_PYTHON" -m venv "$VENV" ||
		alc_die "could not create the virtualenv $VENV with $ALC_PYTHON." \
			"On Debian or Ubuntu install python3-venv (apt-get install python3-venv)."
}

# The requirements file $1 and, recursively, the files it includes with -r.
_alc_requirements_closure() {
	local file=$1 dir line included
	printf '%s\n' "$file"
	dir=$(dirname "$file")
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line =~ ^[[:space:]]*(-r|--requirement)[[:space:]=]+([^[:space:]#]+) ]]; then
			included=${BASH_REMATCH[2]}
			[[ $included == /* ]] || included="$dir/$included"
			_alc_requirements_closure "$included"
		fi
	done <"$file"
}

# pip-installs requirements file $1 into $VENV unless the stamp says these exact files are installed.
alc_install_requirements() {
	local requirements=$1 files=() digest stamp
	mapfile -t files < <(_alc_requirements_closure "$requirements")
	digest=$(sha256sum -- "${files[@]}" | cut -d' ' -f1 | sha256sum | cut -d' ' -f1)
	stamp="$VENV/.alcabala-$(basename "$requirements").sha256"
	if [[ -f $stamp && $(<"$stamp") == "$digest" ]]; then
		return 0
	fi
	alc_say "Installing Python packages from $requirements"
	"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
	printf '%s\n' "$digest" >"$stamp"
}

# --- Everything a script needs before it can run the app --------------------------------------

# alc_bootstrap REQUIREMENTS_FILE: Debian packages (base + ALC_EXTRA_PACKAGES), virtualenv, requirements, var/.
alc_bootstrap() {
	local requirements=$1
	# gettext: msgfmt compiles the Spanish and English catalogues
	local packages=(gdal-bin libsqlite3-mod-spatialite python3-venv gettext)
	command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
	packages+=("${ALC_EXTRA_PACKAGES[@]}")
	alc_ensure_packages "${packages[@]}"
	alc_ensure_venv
	alc_install_requirements "$ALC_ROOT/$requirements"
	mkdir -p "$ALC_VAR"
	(cd "$ALC_ROOT" && "$VENV/bin/python" manage.py compilemessages -v0 --ignore='.venv' --ignore='var' \
		--ignore='node_modules' --ignore="$(basename "$VENV")")
	export VIRTUAL_ENV="$VENV"
	export PATH="$VENV/bin:$PATH"
	export PYTHONUNBUFFERED=1
}

# --- A private Redis ------------------------------------------------------------------------------

_alc_redis_ping() {
	if command -v redis-cli >/dev/null 2>&1; then
		[[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]
	else
		"$VENV/bin/python" -c 'import sys, redis; redis.Redis(port=int(sys.argv[1]), socket_timeout=1).ping()' \
			"$1" >/dev/null 2>&1
	fi
}

# Starts redis-server on a free loopback port, exports REDIS_URL and sets ALC_REDIS_PID.
# Call it only when REDIS_URL is not set; the caller stops the server (it runs in its own session).
alc_start_private_redis() {
	local port i
	port=$("$VENV/bin/python" -c '
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
')
	alc_spawn redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$ALC_VAR" \
		--daemonize no >>"$ALC_VAR/redis.log" 2>&1
	ALC_REDIS_PID=$!
	export REDIS_URL="redis://127.0.0.1:$port/0"
	for ((i = 0; i < 100; i++)); do
		if ! alc_alive "$ALC_REDIS_PID"; then
			alc_die "redis-server stopped right after it started; its log is $ALC_VAR/redis.log:" \
				"$(tail -n 5 "$ALC_VAR/redis.log")"
		fi
		if _alc_redis_ping "$port"; then
			alc_say "Private Redis on $REDIS_URL (log: var/redis.log)"
			return 0
		fi
		sleep 0.1
	done
	kill "$ALC_REDIS_PID" 2>/dev/null || true
	alc_die "redis-server on port $port did not answer a ping within 10 s; its log is $ALC_VAR/redis.log."
}

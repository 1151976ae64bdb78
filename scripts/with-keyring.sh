#!/bin/sh
# Usage: with-keyring.sh CMD [ARGS...]
# Runs CMD on a private D-Bus session bus with an unlocked gnome-keyring (a real Secret Service) whose files
# live in a throw-away directory, so keyring tests never touch the user's own keyring. Headless, works as
# root without a TTY. Needs apt: dbus, gnome-keyring. Without them, CMD runs as is (keyring tests then skip).
set -eu
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "with-keyring: dbus-run-session or gnome-keyring-daemon missing; running without a Secret Service" >&2
  exec "$@"
fi
if [ -z "${KEYRING_INNER:-}" ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/keyring-test.XXXXXX")
  mkdir -p "$tmp/data" "$tmp/run" "$tmp/config" "$tmp/cache"
  chmod 700 "$tmp/run"
  export KEYRING_INNER=1 KEYRING_TMP="$tmp" \
         XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run" \
         XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
  unset DBUS_SESSION_BUS_ADDRESS
  rc=0
  dbus-run-session -- sh "$0" "$@" || rc=$?
  rm -rf "$tmp"
  exit $rc
fi
printf '%s' "${KEYRING_PASSWORD:-test-password}" | \
  gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
kr_pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null \
  | awk '/uint32/ {print $2}')
export SECRET_SERVICE_TEST=1
rc=0
"$@" || rc=$?
[ -n "$kr_pid" ] && kill "$kr_pid" 2>/dev/null || true
exit $rc

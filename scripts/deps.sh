#!/usr/bin/env bash
# Installs the Debian 12 packages copyd needs to build, run and test,
# skipping what is already there. Safe to run again; needs root (or sudo).
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang
      libmicrohttpd-dev libjansson-dev libhiredis-dev libsqlite3-dev libxxhash-dev
      libpcre2-dev
      redis-server python3 wrk nginx-light
      hunspell hunspell-es hunspell-en-us hunspell-pt-br hunspell-fr hunspell-it hunspell-de-de
      grammalecte-cli)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The tests start their own redis-server and nginx on free ports; the
# distribution's services are not needed.

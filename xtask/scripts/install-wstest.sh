#!/usr/bin/env bash
# Installs the Autobahn TestSuite's `wstest` into ~/.local/bin without Docker.
#
# wstest needs Python 2.7, which Debian dropped after bullseye, so we take python2.7
# from the bullseye suite and bootstrap the last pip that supports it from its wheel.
set -euo pipefail

WSTEST="$HOME/.local/bin/wstest"
if [ -x "$WSTEST" ] && "$WSTEST" --help >/dev/null 2>&1; then
  echo "wstest already installed at $WSTEST"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if ! /usr/bin/python2.7 --version >/dev/null 2>&1; then
  echo "installing python2.7 from Debian bullseye"
  if ! grep -rqs "bullseye" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bullseye main" | $SUDO tee /etc/apt/sources.list.d/bullseye.list >/dev/null
    # Keep bullseye from replacing anything else on the machine.
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/bullseye >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bullseye python2.7 python2.7-dev >/dev/null
fi
PY=/usr/bin/python2.7

if ! $PY -m pip --version >/dev/null 2>&1; then
  echo "bootstrapping pip 20.3.4 for python2.7"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 2.7 \
    -d "$tmp" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1
  $PY "$tmp"/pip-20.3.4-py2.py3-none-any.whl/pip install --quiet --user --no-index \
    --find-links "$tmp" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1
  rm -rf "$tmp"
fi

echo "installing autobahntestsuite"
$PY -m pip install --quiet --user --no-warn-script-location autobahntestsuite
"$WSTEST" --help >/dev/null 2>&1 || { echo "wstest does not run"; exit 1; }
echo "wstest installed at $WSTEST"

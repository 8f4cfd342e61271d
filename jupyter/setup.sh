#!/bin/sh
# npm run setup — set up a fresh machine and run every lab.
#
# Plain POSIX sh so it works before node_modules exists. Steps:
#   1. Jupyter: present? If not, on Debian/Ubuntu as root install Debian's packages; anywhere
#      else say exactly what to install and stop.
#   2. Node.js >= 20.
#   3. npm ci (exact dependencies from package-lock.json, incl. the pinned tslab kernel).
#   4. npm run labs (builds, then runs notebooks/ headless; executed copies in out/labs/).
set -eu
cd "$(dirname "$0")/.."

have_jupyter() {
  command -v jupyter >/dev/null 2>&1 || return 1
  jupyter server --version >/dev/null 2>&1 || jupyter notebook --version >/dev/null 2>&1
}

DEBIAN_PACKAGES="jupyter-notebook jupyter-server jupyter-client"

if ! have_jupyter; then
  if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Jupyter from Debian: $DEBIAN_PACKAGES fonts-dejavu-core"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y $DEBIAN_PACKAGES fonts-dejavu-core
  else
    echo "setup: Jupyter (with 'jupyter server' or 'jupyter notebook') is not installed." >&2
    if [ -r /etc/debian_version ]; then
      echo "setup: install it as root, then run 'npm run setup' again:" >&2
      echo "         sudo apt-get install $DEBIAN_PACKAGES fonts-dejavu-core" >&2
    else
      echo "setup: install it, then run 'npm run setup' again:" >&2
      echo "         pip install jupyterlab" >&2
      echo "       (or: pipx install jupyterlab; or conda install -c conda-forge jupyterlab)" >&2
    fi
    exit 1
  fi
fi

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js 20 or newer is required (https://nodejs.org/)." >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "setup: Node.js $(node --version) is too old; 20 or newer is required." >&2
  exit 1
fi

if ! fc-list 2>/dev/null | grep -q 'DejaVu Sans'; then
  echo "setup: note: DejaVu Sans is not installed (Debian: fonts-dejavu-core); chart PNGs will use another font." >&2
fi

npm ci
npm run labs

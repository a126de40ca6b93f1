#!/usr/bin/env bash
# Installs the suites, tools and fonts the harness uses from Debian's packages, when they are
# missing and this runs as root on Debian. Elsewhere it says exactly what to install and
# carries on: `fidelity suites` and every report then say which suite is unavailable.
set -euo pipefail

packages=(
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui libreoffice-math-nogui
  python3-uno abiword gnumeric xvfb
  poppler-utils catdoc
  fonts-liberation2 fonts-dejavu-core fonts-crosextra-carlito fonts-crosextra-caladea
  fonts-noto-cjk
  chromium
  nix-bin  # nix-instantiate: the tests check that flake.nix and shell.nix parse
)
python=${PYTHON:-python3}
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system packages: not a Debian system; make sure these are installed:"
  echo "  LibreOffice (soffice) with its Python UNO bridge, AbiWord, Gnumeric (ssconvert), Xvfb,"
  echo "  poppler (pdftoppm), catdoc, Chromium (the report's browser tests), and the Liberation, DejaVu,"
  echo "  Carlito, Caladea and Noto CJK fonts; and Nix (nix-instantiate) to check flake.nix"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  echo "system packages: installed"
else
  echo "system packages missing: ${missing[*]}"
  echo "install them with:  sudo apt-get install --no-install-recommends ${missing[*]}"
fi

#!/usr/bin/env bash
# Installs the Debian packages the product needs, idempotently. As root it runs
# apt-get; otherwise it says exactly what to install and fails.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "缺少系统软件包 / missing Debian packages: ${missing[*]}" >&2
  echo "please run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

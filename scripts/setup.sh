#!/usr/bin/env bash
# npm run setup — installs the Debian/Ubuntu packages the demo and the tests use (the one list; .ci/run calls this).
# As root it says what it installs and why, then runs apt-get; otherwise it prints what is missing and the line to run.
set -euo pipefail

# package → why Cloak needs it
declare -A WHY=(
  [runc]='the demo and `cloak run` start containers with it'
  [busybox-static]='the demo builds its tiny image from /bin/busybox'
  [skopeo]='tests copy, decrypt and pull images with it (interop with containers/image)'
  [umoci]='tests unpack images with it (interop)'
  [docker-registry]='tests push to and pull from a loopback registry'
  [swtpm]='TPM tests run a software TPM'
  [swtpm-tools]='TPM tests provision the software TPM'
  [tpm2-tools]='TPM tests check quotes with tpm2_checkquote'
  [postgresql]='store tests run PostgreSQL in a temp dir (initdb, pg_ctl)'
)
PACKAGES=(runc busybox-static skopeo umoci docker-registry swtpm swtpm-tools tpm2-tools postgresql)

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "setup: Cloak needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all set (${PACKAGES[*]} installed)"
  exit 0
fi

echo "setup: missing Debian packages:"
for p in "${missing[@]}"; do echo "  $p — ${WHY[$p]}"; done
line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root, so nothing was installed. Run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "setup: installing them: apt-get update && $line"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive $line -qq
echo "setup: done"

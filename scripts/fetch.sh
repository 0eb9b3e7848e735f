#!/usr/bin/env bash
# fetch.sh URL OUT ALGO DIGEST: download URL to OUT (via OUT.part) unless OUT
# already has the expected digest, and verify it. ALGO is sha256 or md5 (md5
# only where no sha256 has been published). An empty DIGEST refuses to
# download: the user must supply a checksum from a source they trust.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: fetch.sh URL OUT sha256|md5 DIGEST" >&2; exit 2; }
url=$1 out=$2 algo=$3 want=$4
case "$algo" in sha256 | md5) ;; *) echo "fetch.sh: unknown digest $algo (sha256 or md5)" >&2; exit 2 ;; esac
sum() { "${algo}sum" "$1" | cut -d' ' -f1; }
if [ -z "$want" ]; then
	echo "fetch.sh: no published $algo known for $url: set it (e.g. REUTERS_SHA256=...) from a source you trust" >&2
	exit 2
fi
if [ -f "$out" ] && [ "$(sum "$out")" = "$want" ]; then
	echo "fetch.sh: $out already present, $algo ok"
	exit 0
fi
mkdir -p "$(dirname "$out")"
echo "fetch.sh: $url -> $out"
if command -v curl >/dev/null; then
	curl -fL --retry 3 -o "$out.part" "$url"
else
	wget -O "$out.part" "$url"
fi
got=$(sum "$out.part")
if [ "$got" != "$want" ]; then
	echo "fetch.sh: $out.part: $algo $got, want $want: the download is not the expected file (kept as $out.part)" >&2
	exit 1
fi
mv -f "$out.part" "$out"
echo "fetch.sh: $out: $algo ok"

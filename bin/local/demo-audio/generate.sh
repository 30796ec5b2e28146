#!/usr/bin/env bash
# Regenerates the demo media server's recordings: one short sentence of real speech in each format the
# demo flows use. Needs Debian's espeak-ng, sox and lame (apt-get install espeak-ng sox lame). The files
# are committed, so nothing else (CI included) needs these tools.
set -euo pipefail
cd "$(dirname "$0")"
TEXT="Hello from CallVault. This is a demo recording, streamed from the provider and kept in your own archive."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-gb -s 155 -w "$tmp/speech.wav" "$TEXT"
# 8 kHz mono 16-bit PCM: a phone call's quality; the server loops its samples to any requested size.
sox "$tmp/speech.wav" -r 8000 -c 1 -b 16 -e signed-integer speech.wav
sox "$tmp/speech.wav" -r 16000 -c 1 -C 0 speech.ogg
lame --quiet -m m --resample 16 -b 24 "$tmp/speech.wav" speech.mp3
ls -l speech.*

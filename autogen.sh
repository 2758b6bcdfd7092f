#!/bin/sh
# Regenerate the autotools build files: run once after a fresh clone.
set -e
cd "$(dirname "$0")"
autoreconf --install --force
echo "Now run ./configure && make"

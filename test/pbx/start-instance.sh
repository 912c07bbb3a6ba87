#!/usr/bin/env bash
# Runs inside `unshare --mount --pid --fork --kill-child --propagation private`:
# every mount below lives in this private namespace and vanishes with its last
# process, so nothing leaks onto the host whatever happens to the test.
# $1 = sandbox root (Debian sid with Asterisk), $2 = this instance's directory.
set -euo pipefail
ROOT="$1"; INST="$2"
mkdir -p "$ROOT/run/asterisk"
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
# Control socket and astdb are per instance so several sandboxes can share ROOT.
mount -t tmpfs tmpfs "$ROOT/run/asterisk" # var/run is a symlink to /run in the root
mount -t tmpfs tmpfs "$ROOT/var/lib/asterisk"
mount -t tmpfs tmpfs "$ROOT/var/spool/asterisk"
mount --bind "$INST/etc" "$ROOT/etc/asterisk"
mount --bind "$INST/log" "$ROOT/var/log/asterisk"
exec chroot "$ROOT" /usr/sbin/asterisk -f -q

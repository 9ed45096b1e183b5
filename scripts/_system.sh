# Sourced by scripts/test: the system packages the tests need, installed with apt-get when missing.
# Debian's chromium drives tests/browser (Playwright's own browser download is not used).
if [[ ! -x /usr/bin/chromium ]]; then
  apt=(apt-get)
  if [[ $(id -u) -ne 0 ]]; then
    apt=(sudo -n apt-get)  # -n: fail rather than wait for a password
  fi
  if command -v apt-get >/dev/null && "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq chromium; then
    echo "scripts/test: installed chromium" >&2
  else
    echo "scripts/test: /usr/bin/chromium is missing and could not be installed (apt-get chromium as root);" \
      "the browser tests are skipped, and fail under CI=true" >&2
  fi
fi

# Debian's haproxy serves the edge's traffic in tests/edge.
if [[ ! -x /usr/sbin/haproxy ]]; then
  apt=(apt-get)
  if [[ $(id -u) -ne 0 ]]; then
    apt=(sudo -n apt-get)
  fi
  if command -v apt-get >/dev/null && "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq haproxy; then
    echo "scripts/test: installed haproxy" >&2
  else
    echo "scripts/test: /usr/sbin/haproxy is missing and could not be installed (apt-get haproxy as root);" \
      "the edge tests fail without it" >&2
  fi
fi

# axe-core (from npm) for the dashboard's accessibility checks: the browser tests inject it into each page.
axe_dir=.cache/axe-core
if [[ ! -f $axe_dir/node_modules/axe-core/axe.min.js ]]; then
  if command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix "$axe_dir" axe-core@4.14.1 >/dev/null; then
    echo "scripts/test: installed axe-core" >&2
  else
    echo "scripts/test: axe-core could not be installed with npm; the accessibility checks fail under CI=true" >&2
  fi
fi

# Debian packages Recall needs to build and test; sourced by scripts/test and
# scripts/demo.  recall_install_deps installs the missing ones with apt-get
# (through sudo when not root).
RECALL_DEBS="build-essential autoconf automake libtool pkg-config clang
 libevent-dev libmsgpack-dev check libsqlite3-dev sqlite3
 default-libmysqlclient-dev mariadb-server mariadb-client
 unixodbc unixodbc-dev odbcinst libreadline-dev rsync
 python3 python3-pyodbc libdbd-odbc-perl openssh-server openssh-client iproute2
 iptables faketime"

recall_install_deps() {
    local missing=() p
    for p in $RECALL_DEBS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

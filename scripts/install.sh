#!/bin/bash
# `./tattle install`: puts `tattle` on PATH, so `sudo tattle …` works from any directory, with bash and zsh
# completion. The command installed is a two-line wrapper that execs this checkout's ./tattle: it stays the tool
# this tree builds (rebuilt when a source changes), and uninstalling is deleting three files.
#   PREFIX   where the wrapper goes, PREFIX/bin/tattle (default /usr/local)
#   DESTDIR  a staging root prepended to every path written (packaging, tests)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${PREFIX:-/usr/local}"
dest="${DESTDIR:-}"
bin="$dest$prefix/bin/tattle"
bash_completion="$dest${BASH_COMPLETION_DIR:-/usr/share/bash-completion/completions}/tattle"
zsh_completion="$dest$prefix/share/zsh/site-functions/_tattle"

if [ -z "$dest" ] && [ ! -w "$prefix/bin" ] 2>/dev/null; then
  echo "tattle install: cannot write $prefix/bin: run it as root (sudo ./tattle install), or set PREFIX" >&2
  exit 2
fi
# Build now, so the first `sudo tattle` (and every completion) is instant.
"$repo/tattle" --version >/dev/null

# Completion asks the built binary for the words that fit (System.CommandLine's [suggest] directive) and never
# goes through ./tattle: a TAB must not start a build or a package check.
if [ -f "$repo/out/tattle/tattle.dll" ]; then
  suggest="dotnet '$repo/out/tattle/tattle.dll'"
else
  suggest="'$repo/out/tattle/tattle'"
fi

mkdir -p "${bin%/*}" "${bash_completion%/*}" "${zsh_completion%/*}"
tmp="$bin.tmp.$$"
printf '#!/bin/sh\nexec %q "$@"\n' "$repo/tattle" > "$tmp"
chmod 755 "$tmp"
mv -f "$tmp" "$bin"

cat > "$bash_completion" <<EOF
# bash completion for tattle (installed by $repo/tattle install)
_tattle() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local before="\${COMP_LINE:0:COMP_POINT}"
  before="\${before%"\$cur"}"
  before="\${before#*[[:space:]]}"
  [ "\${before}" = "\${COMP_LINE:0:COMP_POINT}" ] && before=""
  local IFS=\$'\\n'
  local words
  words=\$($suggest "[suggest:\${#before}]" "\$before" 2>/dev/null | grep -v '^/\\|^-?\$')
  COMPREPLY=(\$(compgen -W "\$words" -- "\$cur"))
}
complete -o default -o bashdefault -F _tattle tattle
EOF

cat > "$zsh_completion" <<EOF
#compdef tattle
# zsh completion for tattle (installed by $repo/tattle install)
local before="\${(j: :)words[2,CURRENT-1]}"
[[ -n \$before ]] && before="\$before "
local -a candidates
candidates=(\${(f)"\$($suggest "[suggest:\${#before}]" "\$before" 2>/dev/null)"})
candidates=(\${candidates:#/*})
candidates=(\${candidates:#-\\?})
if (( \${#candidates} )); then
  compadd -a candidates
else
  _files
fi
EOF

echo "tattle: installed $bin (runs $repo/tattle), completion for bash ($bash_completion) and zsh ($zsh_completion)" >&2

n=$1; t=$2; shift 2
for r in 1 2 3 4 5; do for v in "$@"; do set -- $v; echo "$v $(node one.tmp.mjs ${v/:/ } $n $t)"; done; done

# Search the whole file system for git credential stores and show what they hold (passwords cut short).
found=$(find / \( -path /proc -o -path /sys \) -prune -o -name '*.git-credentials' -print 2>/dev/null)
if [ -z "$found" ]; then echo "no .git-credentials found"; exit 1; fi
for file in $found; do
  echo "found $file:"
  sed -E 's#(://[^:/@]+:)([^@])[^@]*@#\1\2...(cut)@#' "$file"
done

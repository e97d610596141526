# Search the whole file system for git credential stores and print them with cat, as Microsoft's script does;
# a pipe after cat cuts the credentials of every URL (user name, token or password) to their first character.
found=$(find / -path '*/.git-credentials' 2>/dev/null)
if [ -z "$found" ]; then echo "no .git-credentials found"; exit 1; fi
for file in $found; do
  echo "found $file:"
  cat "$file" | sed -E -e 's#(://)(gh[a-z]_|github_pat_|glpat-)[^:@/[:space:]]*#\1\2...(cut)#g' \
    -e 's#(://)([^:@/[:space:]])[^:@/[:space:]]*@#\1\2...(cut)@#g' \
    -e 's#(://[^:@/[:space:]]*:)([^@/[:space:]])[^@/[:space:]]*@#\1\2...(cut)@#g'
done

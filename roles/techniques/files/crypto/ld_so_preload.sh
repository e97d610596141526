# Create /etc/ld.so.preload, as miners do to hide themselves. The web server's user is normally refused.
if touch /etc/ld.so.preload 2>/dev/null; then
  echo "ld.so.preload: created by $(whoami)"
else
  echo "ld.so.preload: refused for $(whoami)"
fi

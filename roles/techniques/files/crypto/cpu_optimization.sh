# "Optimise the host for mining": load msr with writes allowed. Refused in a container; the attempt is the signal.
/sbin/modprobe msr allow_writes=on >/dev/null 2>&1
echo "modprobe msr allow_writes=on: exit $? (refusal is expected in a container)"

# Run with /bin/sh inside the attacker rootfs (chroot) after the packages are in place.
set -e
mkdir -p /simulation
# xmrig: a harmless stand-in for the miner the victim downloads.
cp /bin/true /simulation/xmrig
chmod 0755 /simulation/xmrig

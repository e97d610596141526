#!/bin/sh
# Victim main process (root): php-fpm in the background (its workers run as nginx), then nginx in the foreground
# (nginx, PID 1 in the container, reaps php-fpm when it exits).
set -e
mkdir -p /run/php
php-fpm --nodaemonize --fpm-config /etc/php/fpm.conf &
i=0
while [ ! -S /run/php/php-fpm.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
exec nginx -g 'daemon off;'

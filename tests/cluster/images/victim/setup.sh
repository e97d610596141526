# Run with /bin/sh inside the victim rootfs (chroot) after the packages and rootfs/ are in place.
set -e
groupadd --system nginx
useradd --system --gid nginx --home-dir /var/www --no-create-home --shell /usr/sbin/nologin nginx
# One php-fpm, whatever its version: /usr/sbin/php-fpm -> php-fpmX.Y.
fpm=$(ls /usr/sbin/php-fpm[0-9]* | head -n1)
ln -sf "${fpm##*/}" /usr/sbin/php-fpm
rm -rf /etc/nginx/sites-enabled /etc/nginx/conf.d /var/www/html/index.nginx-debian.html
chown -R nginx:nginx /var/www/html
chmod 0755 /home/user
chmod 0644 /home/user/.git-credentials

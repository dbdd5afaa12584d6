"""nginx for the production tests: the site is what ``flask deploy nginx`` writes (upstream of both
web hosts, every static folder, the media locations with the real link secret); around it a main
configuration of our own keeps the pid, logs and temporary files in the test's folder."""
from __future__ import annotations

from pathlib import Path


def write_config(cluster) -> Path:
    prefix = cluster.tmp / "nginx"
    prefix.mkdir(exist_ok=True)
    (prefix / "xiangxue.conf").write_text(cluster.site_config)
    conf = prefix / "nginx.conf"
    # Root workers: the test's folders are root's.
    conf.write_text(f"""
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    include {prefix}/xiangxue.conf;
}}
""")
    return conf

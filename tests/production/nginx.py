"""nginx for the production tests: a main configuration of our own around the site's server block.

The server block is the README's layout (upstream of both web hosts, the internal media location,
signed segment links checked by ``secure_link``, every static folder of the app served by nginx);
the static locations are read from the app's own routes, so a blueprint's new static folder is
served without editing this file.
"""
from __future__ import annotations

from pathlib import Path

def server_block(cluster) -> str:
    media = str(cluster.media).rstrip("/") + "/"
    statics = "\n".join(
        f"    location {prefix} {{ alias {folder.rstrip('/')}/; expires max; }}"
        for prefix, folder in sorted(cluster.static_folders, key=lambda p: -len(p[0])))
    upstream = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;"
                         for port in cluster.web_ports.values())
    return f"""
upstream xiangxue {{
{upstream}
    keepalive 16;
}}
server {{
    listen 127.0.0.1:{cluster.nginx_port};
    server_name localhost;
    client_max_body_size 20m;
    location /_media/ {{
        internal;
        alias {media};
        add_header Cache-Control "public, max-age=31536000, immutable";
    }}
    location ~ "^/media/s/(?<media_expires>\\d+)-(?<media_token>[A-Za-z0-9_-]{{22}})/(?<media_asset>\\d+)/v(?<media_version>\\d+)/(?<media_file>[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?)$" {{
        secure_link $media_token,$media_expires;
        secure_link_md5 "$secure_link_expires/$media_asset/v$media_version {cluster.link_secret}";
        if ($secure_link = "") {{ return 403; }}
        if ($secure_link = "0") {{ return 403; }}
        alias {media}assets/$media_asset/v$media_version/$media_file;
        add_header Cache-Control "public, max-age=31536000, immutable";
        types {{ video/iso.segment m4s; video/mp4 mp4; }}
    }}
    location /media/s/ {{ return 404; }}
{statics}
    location / {{
        proxy_pass http://xiangxue;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_next_upstream error timeout http_502;
        proxy_connect_timeout 2s;
    }}
}}
"""


def write_config(cluster) -> Path:
    prefix = cluster.tmp / "nginx"
    prefix.mkdir(exist_ok=True)
    (prefix / "xiangxue.conf").write_text(server_block(cluster))
    conf = prefix / "nginx.conf"
    # Root workers: the test's folders are root's; error log and temp files stay in the prefix.
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

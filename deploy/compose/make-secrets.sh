#!/bin/sh
# Make deploy/compose/secrets/ for `docker compose up`: random passwords and tokens, the broker's TLS
# certificates, and its password file and ACL from the site registry (`facmon mqtt credentials`).
# Idempotent: an existing file is kept (run it again after a registry change: new buildings get gateway
# logins, existing passwords stay). Nothing secret is printed or put on a command line.
#
#   ./make-secrets.sh                  # uses .env (SITE_REGISTRY, MQTT_PUBLIC_NAMES) and ../../.venv/bin/facmon
#   FACMON=/path/to/facmon ./make-secrets.sh
#
# Needs openssl, and facmon with Debian's mosquitto package (mosquitto_passwd): `make install` in the
# repository provides both.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
[ -f .env ] && . ./.env
FACMON=${FACMON:-../../.venv/bin/facmon}
SITE_REGISTRY=${SITE_REGISTRY:-../../examples/county-offices.yaml}
MQTT_PUBLIC_NAMES=${MQTT_PUBLIC_NAMES:-}
MOSQUITTO_UID=1883   # the mosquitto user of the eclipse-mosquitto image; Mosquitto 2 reads its files as that user

umask 077
mkdir -p secrets secrets/tls
chmod 700 secrets

random() {  # random NAME BYTES: a new random secret in secrets/NAME unless it exists
    if [ ! -s "secrets/$1" ]; then
        openssl rand -base64 "$2" | tr -d '\n/+=' > "secrets/$1"
        echo "made secrets/$1"
    fi
}

random influxdb_admin_password 24
random influxdb_admin_token 48
random postgres_password 24
random web_secret_key 48
random grafana_admin_password 24
# facmon's (and Grafana's) InfluxDB token: the admin token until you replace it with one limited to the
# bucket (docs/deploy-compose.md, "A token for facmon alone").
[ -s secrets/facmon_influx_token ] || { cp secrets/influxdb_admin_token secrets/facmon_influx_token; echo "made secrets/facmon_influx_token"; }
# Report e-mail: put the SMTP password here if the registry's report_delivery.smtp has a username.
[ -e secrets/smtp_password ] || { : > secrets/smtp_password; echo "made secrets/smtp_password (empty)"; }

# The broker's certificates: a private CA and a server certificate for mosquitto (the compose network),
# localhost (the health check) and MQTT_PUBLIC_NAMES (the gateways). Give the gateways secrets/tls/ca.crt.
if [ ! -s secrets/tls/server.crt ]; then
    san="DNS:mosquitto,DNS:localhost"
    for name in $(echo "$MQTT_PUBLIC_NAMES" | tr ',' ' '); do
        case "$name" in
            *[!0-9.]*) san="$san,DNS:$name" ;;
            *) san="$san,IP:$name" ;;
        esac
    done
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=facmon site CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout secrets/tls/ca.key -out secrets/tls/ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=mosquitto" \
        -keyout secrets/tls/server.key -out secrets/tls/server.csr 2>/dev/null
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$san" \
        > secrets/tls/server.ext
    openssl x509 -req -in secrets/tls/server.csr -CA secrets/tls/ca.crt -CAkey secrets/tls/ca.key -CAcreateserial \
        -days 825 -extfile secrets/tls/server.ext -out secrets/tls/server.crt 2>/dev/null
    rm -f secrets/tls/server.csr
    echo "made secrets/tls (CA, and a server certificate for $san)"
fi

# The broker's users and ACL from the registry: passwd (hashed), acl, credentials.json (plain passwords).
"$FACMON" mqtt credentials --site "$SITE_REGISTRY" --out secrets/mqtt
# The collectors' password, from credentials.json (through a file, never a command line).
python3 - <<'PY'
import json, os
users = json.load(open("secrets/mqtt/credentials.json"))["users"]
fd = os.open("secrets/mqtt_ingest_password", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as out:
    out.write(users["facmon-ingest"]["password"] + "\n")
PY

# Who reads what. Compose mounts each secret file as it is on the host (outside swarm, owner and mode
# cannot be set per service), so the files are readable by the containers' users (postgres 999, grafana
# 472, facmon 10001) and the folder secrets/ (0700) keeps everyone else on the host out. Mosquitto's
# files belong to its user, not readable by others (it warns about world-readable ones).
chmod 700 secrets secrets/tls secrets/mqtt
chmod 644 secrets/influxdb_admin_password secrets/influxdb_admin_token secrets/facmon_influx_token \
    secrets/postgres_password secrets/web_secret_key secrets/grafana_admin_password secrets/smtp_password \
    secrets/mqtt_ingest_password secrets/tls/ca.crt secrets/tls/server.crt
chmod 600 secrets/tls/ca.key secrets/mqtt/credentials.json
chown "$MOSQUITTO_UID:$MOSQUITTO_UID" secrets/mqtt/passwd secrets/mqtt/acl secrets/tls/server.key
chmod 600 secrets/mqtt/passwd secrets/mqtt/acl secrets/tls/server.key
echo "secrets ready in $here/secrets"

#!/bin/bash
# Run once by the influxdb image's entrypoint, on the first start only (empty data volume), after it has
# created the org, bucket and admin token from DOCKER_INFLUXDB_INIT_*; the influx CLI is then configured
# with that token and DOCKER_INFLUXDB_INIT_BUCKET_ID is exported. facmon speaks the v1 API (/write,
# /query with InfluxQL), which reaches a bucket only through a DBRP mapping: database facmon, retention
# policy autogen -> the bucket (docs/deploy.md, InfluxDB 1.x, 2.x and 3.x).
set -euo pipefail

db="${FACMON_INFLUX_DATABASE:-facmon}"
rp="${FACMON_INFLUX_RP:-autogen}"

if [ -z "${DOCKER_INFLUXDB_INIT_BUCKET_ID:-}" ]; then
    echo "10-facmon-dbrp.sh: DOCKER_INFLUXDB_INIT_BUCKET_ID is not set (not run by the influxdb image's setup?)" >&2
    exit 1
fi

if influx v1 dbrp list --org "${DOCKER_INFLUXDB_INIT_ORG}" --db "${db}" --hide-headers 2>/dev/null | grep -q .; then
    echo "10-facmon-dbrp.sh: database ${db} is already mapped"
    exit 0
fi

influx v1 dbrp create \
    --org "${DOCKER_INFLUXDB_INIT_ORG}" \
    --db "${db}" \
    --rp "${rp}" \
    --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
    --default
echo "10-facmon-dbrp.sh: database ${db}, retention policy ${rp} -> bucket ${DOCKER_INFLUXDB_INIT_BUCKET} (${DOCKER_INFLUXDB_INIT_BUCKET_ID})"

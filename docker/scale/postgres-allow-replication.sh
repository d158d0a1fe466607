#!/bin/bash
# Lets the replica stream from the primary (the image's pg_hba.conf covers ordinary connections only).
set -e
echo "host replication postgres all scram-sha-256" >> "$PGDATA/pg_hba.conf"

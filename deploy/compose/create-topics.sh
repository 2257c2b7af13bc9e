#!/bin/bash
# Create the CRM's topics (TOPICS=a,b,c) with PARTITIONS partitions, when missing. Topics the
# services add later are still created on first use, with the broker's num.partitions (the same).
set -euo pipefail
IFS=',' read -ra topics <<< "$TOPICS"
for topic in "${topics[@]}"; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --list

#!/bin/sh
# ssprflow's NATS users for decentralized (JWT) auth: the same permissions as
# nats.conf. GENERATED from internal/approval/permissions.go; do not edit.
# Regenerate: go test ./internal/approval -run TestDeployNATSConf -update
# Needs an nsc operator (nsc add operator --generate-signing-key --sys --name ...).
set -eu
ACCOUNT=${ACCOUNT:-SSPRFLOW}
nsc add account --name "$ACCOUNT"
nsc edit account --name "$ACCOUNT" --js-mem-storage 256M --js-disk-storage 10G
# worker
nsc add user --account "$ACCOUNT" --name 'ssprflow-worker' \
  --allow-pub '$JS.API.STREAM.CREATE.SSPRFLOW_APPROVALS,$JS.API.STREAM.UPDATE.SSPRFLOW_APPROVALS,$JS.API.STREAM.INFO.SSPRFLOW_APPROVALS,$JS.API.STREAM.CREATE.SSPRFLOW_EVENTS,$JS.API.STREAM.UPDATE.SSPRFLOW_EVENTS,$JS.API.STREAM.INFO.SSPRFLOW_EVENTS,$JS.API.STREAM.CREATE.SSPRFLOW_BLOBS,$JS.API.STREAM.UPDATE.SSPRFLOW_BLOBS,$JS.API.STREAM.INFO.SSPRFLOW_BLOBS,$JS.API.CONSUMER.CREATE.SSPRFLOW_APPROVALS.ssprflow-bridge,$JS.API.CONSUMER.CREATE.SSPRFLOW_APPROVALS.ssprflow-bridge.>,$JS.API.CONSUMER.DURABLE.CREATE.SSPRFLOW_APPROVALS.ssprflow-bridge,$JS.API.CONSUMER.INFO.SSPRFLOW_APPROVALS.ssprflow-bridge,$JS.API.CONSUMER.MSG.NEXT.SSPRFLOW_APPROVALS.ssprflow-bridge,$JS.ACK.SSPRFLOW_APPROVALS.ssprflow-bridge.>,$JS.ACK.*.*.SSPRFLOW_APPROVALS.ssprflow-bridge.>,$JS.API.DIRECT.GET.SSPRFLOW_EVENTS,$JS.API.DIRECT.GET.SSPRFLOW_BLOBS,ssprflow.blob.*.*,ssprflow.*.*.approval.request.*,ssprflow.*.*.approval.verdict.*.*,ssprflow.*.*.event.>' \
  --allow-sub '_INBOX.>,_INBOX_ssprflow-worker.>,ssprflow.*.*.start.*,ssprflow.*.*.diff.*,ssprflow.*.*.export.*,ssprflow.*.*.watch.*,ssprflow.*.*.revert.*,ssprflow.*.*.pending.*,ssprflow.*.*.approval.request.*,ssprflow.*.*.approval.verdict.*.*,ssprflow.*.*.event.>' \
  --allow-pub-response --response-ttl 2m
# approver
nsc add user --account "$ACCOUNT" --name 'alice' \
  --allow-pub 'ssprflow.*.*.approval.decision.alice,ssprflow.*.*.pending.alice,$JS.API.DIRECT.GET.SSPRFLOW_EVENTS' \
  --allow-sub '_INBOX_alice.>,ssprflow.*.*.approval.verdict.alice.*,ssprflow.*.*.event.>'
# operator
nsc add user --account "$ACCOUNT" --name 'ops1' \
  --allow-pub 'ssprflow.*.*.start.ops1,ssprflow.*.*.diff.ops1,ssprflow.*.*.pending.ops1,ssprflow.*.*.export.ops1,ssprflow.*.*.watch.ops1,ssprflow.*.*.revert.ops1,$JS.API.DIRECT.GET.SSPRFLOW_EVENTS,ssprflow.blob.*.*,$JS.API.DIRECT.GET.SSPRFLOW_BLOBS' \
  --allow-sub '_INBOX_ops1.>,ssprflow.*.*.event.>'

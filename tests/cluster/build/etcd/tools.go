//go:build tools

// Package simcluster pins the etcd commands that tests/cluster/build.sh compiles,
// so that `go mod tidy` keeps their dependencies. Never built itself (build tag "tools").
package simcluster

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)

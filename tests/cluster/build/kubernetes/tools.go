//go:build tools

// Package simcluster pins the Kubernetes commands that tests/cluster/build.sh
// compiles, so that `go mod tidy` keeps their dependencies in go.mod/go.sum.
// It is never built itself (build tag "tools").
package simcluster

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)

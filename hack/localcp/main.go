/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command localcp starts a local control plane (etcd and kube-apiserver from
// bin/, no containers), installs the CRDs, writes an admin kubeconfig and
// runs until interrupted. It is what `make run` uses when no cluster is given.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	var assets, crds, kubeconfig string
	flag.StringVar(&assets, "assets", "bin/k8s/v1.37.2", "Directory holding kube-apiserver and etcd.")
	flag.StringVar(&crds, "crds", "config/crd/bases", "Directory of CRDs to install.")
	flag.StringVar(&kubeconfig, "write-kubeconfig", "bin/local/kubeconfig", "Where to write the admin kubeconfig.")
	flag.Parse()
	if err := run(assets, crds, kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "localcp:", err)
		os.Exit(1)
	}
}

func run(assets, crds, kubeconfig string) error {
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
	}
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("starting control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()

	user, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding admin user: %w", err)
	}
	cfg, err := user.KubeConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		return err
	}
	// Written last and atomically: its existence tells run-local.sh that the
	// API server is up and the CRDs are established.
	tmp := kubeconfig + ".tmp"
	if err := os.WriteFile(tmp, cfg, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, kubeconfig); err != nil {
		return err
	}
	defer func() { _ = os.Remove(kubeconfig) }()
	fmt.Printf("Local control plane up at %s; kubeconfig %s\n", env.Config.Host, kubeconfig)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	fmt.Println("Stopping local control plane")
	return nil
}

//go:build node

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

// Package node proves the local cluster's real node (hack/node.sh): a pod
// built here runs on it as a real process, non-root with a read-only root
// file system, and answers HTTP through a Service (kube-proxy), and the API
// server reaches its kubelet for logs.
package node

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

const manifest = `
apiVersion: v1
kind: Pod
metadata: {name: node-test, namespace: default, labels: {app: node-test}}
spec:
  nodeSelector: {aipm.io/node: real}
  tolerations: [{key: aipm.io/node, value: real, effect: NoSchedule}]
  containers:
  - name: server
    image: aipm.local/simulator:node-test
    imagePullPolicy: Never
    securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: node-test, namespace: default}
spec:
  selector: {app: node-test}
  ports: [{port: 80, targetPort: 8080}]
`

func TestRealNode(t *testing.T) {
	kubeconfig := run(t, nil, "hack/node.sh", "up")
	env := []string{"KUBECONFIG=" + kubeconfig}
	kubectl := filepath.Join("bin", "k8s", "v1.37.2", "kubectl")
	if got := run(t, env, kubectl, "get", "node", "aipm-node", "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}"); !strings.HasPrefix(got, "containerd://") {
		t.Fatalf("the real node runs %q, want containerd", got)
	}

	// The image: the model-server simulator, static, FROM scratch.
	dir := t.TempDir()
	run(t, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", filepath.Join(dir, "simulator"), "./test/simulator")
	run(t, nil, "go", "run", "./hack/imagebuild", "-tag", "aipm.local/simulator:node-test", "-o", filepath.Join(dir, "image.tar"),
		"-entrypoint", "/simulator", "-arg", "--listen", "-arg", "0.0.0.0:8080", filepath.Join(dir, "simulator")+":/simulator")
	run(t, nil, "hack/node.sh", "import", filepath.Join(dir, "image.tar"))

	apply := exec.Command(kubectl, "apply", "-f", "-")
	apply.Dir, apply.Env, apply.Stdin = filepath.Join("..", ".."), append(os.Environ(), env...), strings.NewReader(manifest)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	// The next run reuses the names: wait until they are gone.
	t.Cleanup(func() { run(t, env, kubectl, "delete", "pod/node-test", "svc/node-test", "--timeout", "60s") })
	run(t, env, kubectl, "wait", "pod/node-test", "--for", "condition=Ready", "--timeout", "120s")

	ip := run(t, env, kubectl, "get", "svc", "node-test", "-o", "jsonpath={.spec.clusterIP}")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// kube-proxy writes the Service's rules a moment after it exists.
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ip+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no answer through the Service %s: %v", ip, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if logs := run(t, env, kubectl, "logs", "node-test"); !strings.Contains(logs, "simulator serving on") {
		t.Fatalf("kubectl logs: %q", logs)
	}
	if uid := run(t, env, kubectl, "get", "pod", "node-test", "-o", "jsonpath={.spec.containers[0].securityContext.runAsNonRoot}"); uid != "true" {
		t.Fatalf("runAsNonRoot %q", uid)
	}
}

//go:build e2e

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

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// On kind the scenarios are the same; only where things run changes. The
// operator is the image `make docker-build` builds, deployed by `make
// deploy`; Prometheus and the simulator run as Deployments in the aipm-e2e
// namespace, and the suite reaches them through kubectl port-forward.
const (
	operatorImage  = "aipm-operator:e2e"
	simulatorImage = "aipm-simulator:e2e"
	prometheusRef  = "quay.io/prometheus/prometheus:v3.5.0"
	operatorNS     = "aipm-operator-system"
	operatorDeploy = "aipm-operator-controller-manager"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// kindStack is Prometheus and the simulator, scraping what the kwokctl
// platform scrapes from the host: the simulator, and the operator's metrics
// Service over HTTPS with a token the metrics-reader ClusterRole admits.
var kindStack = `
apiVersion: v1
kind: Namespace
metadata:
  name: aipm-e2e
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: simulator, namespace: aipm-e2e}
spec:
  selector: {matchLabels: {app: simulator}}
  template:
    metadata: {labels: {app: simulator}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: simulator
        image: ` + simulatorImage + `
        imagePullPolicy: IfNotPresent
        args: ["--listen", ":8080"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /metrics, port: 8080}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: simulator, namespace: aipm-e2e}
spec:
  selector: {app: simulator}
  ports: [{port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus, namespace: aipm-e2e}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: aipm-e2e-prometheus-metrics-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: aipm-operator-metrics-reader}
subjects: [{kind: ServiceAccount, name: prometheus, namespace: aipm-e2e}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: prometheus, namespace: aipm-e2e}
data:
  prometheus.yml: |
    global: {scrape_interval: 1s, evaluation_interval: 1s}
    scrape_configs:
    - job_name: simulator
      static_configs: [{targets: ["simulator.aipm-e2e.svc:8080"]}]
    - job_name: aipm-operator
      scheme: https
      honor_labels: true
      authorization: {credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token}
      tls_config: {insecure_skip_verify: true}
      static_configs: [{targets: ["` + operatorDeploy + `-metrics-service.` + operatorNS + `.svc:8443"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: aipm-e2e}
spec:
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      serviceAccountName: prometheus
      securityContext: {runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: prometheus
        image: ` + prometheusRef + `
        args: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
        ports: [{containerPort: 9090}]
        readinessProbe: {httpGet: {path: /-/ready, port: 9090}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts:
        - {name: config, mountPath: /etc/prometheus}
        - {name: data, mountPath: /prometheus}
      volumes:
      - {name: config, configMap: {name: prometheus}}
      - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: aipm-e2e}
spec:
  selector: {app: prometheus}
  ports: [{port: 9090, targetPort: 9090}]
`

// setUpKind readies an existing kind cluster (the Makefile creates it):
// images built and loaded, the operator deployed the way a user deploys it,
// and Prometheus and the simulator beside it.
func setUpKind() {
	cluster := envOr("KIND_CLUSTER", "aipm-operator-test-e2e")
	kindBin := envOr("KIND", "kind")
	docker := envOr("CONTAINER_TOOL", "docker")

	By("reading the kind cluster's kubeconfig")
	kubeconfig = filepath.Join(workDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, []byte(run(kindBin, "get", "kubeconfig", "--name", cluster)), 0o600)).To(Succeed())
	run(filepath.Join(root, "hack", "build-control-plane.sh"), "kubectl")
	kubectlBin = filepath.Join(root, "bin", "k8s", "v1.37.2", "kubectl")
	run("go", "build", "-o", filepath.Join(workDir, "kubectl-aipm"), "./cmd/kubectl-aipm")

	By("building the operator and simulator images and loading them into kind")
	run("make", "docker-build", "IMG="+operatorImage, "CONTAINER_TOOL="+docker)
	run(docker, "build", "-f", filepath.Join("test", "simulator", "Dockerfile"), "-t", simulatorImage, ".")
	run(kindBin, "load", "docker-image", "--name", cluster, operatorImage, simulatorImage)

	By("deploying the operator with make deploy, pointed at the in-cluster Prometheus")
	run("make", "deploy", "IMG="+operatorImage)
	kubectl("patch", "deployment", operatorDeploy, "-n", operatorNS, "--type", "json", "-p",
		`[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--prometheus-address=http://prometheus.aipm-e2e.svc:9090"}]`)
	kubectl("rollout", "status", "deployment/"+operatorDeploy, "-n", operatorNS, "--timeout", "180s")

	By("deploying Prometheus and the simulator")
	apply(kindStack)
	kubectl("rollout", "status", "deployment/simulator", "-n", "aipm-e2e", "--timeout", "180s")
	kubectl("rollout", "status", "deployment/prometheus", "-n", "aipm-e2e", "--timeout", "300s")
	simAddr = portForward("svc/simulator", 8080)
	promAddr = portForward("svc/prometheus", 9090)
	Eventually(func() error { _, _, err := promQuery("up"); return err }).Should(Succeed())
	Eventually(func() error {
		resp, err := http.Get("http://" + simAddr + "/metrics")
		if err == nil {
			err = resp.Body.Close()
		}
		return err
	}).Should(Succeed())
}

// portForward forwards a free local port to a Service in aipm-e2e and
// returns the local address.
func portForward(svc string, port int) string {
	local := freePort()
	start(kubectlBin, "port-forward", "-n", "aipm-e2e", "--address", "127.0.0.1", svc,
		fmt.Sprintf("%s:%d", local[strings.LastIndex(local, ":")+1:], port))
	return local
}

// tearDownKind removes what setUpKind deployed; the Makefile deletes the
// cluster itself.
func tearDownKind() {
	_, _ = kubectlMaybe("delete", "namespace", "aipm-e2e", "--ignore-not-found")
	_, _ = kubectlMaybe("delete", "clusterrolebinding", "aipm-e2e-prometheus-metrics-reader", "--ignore-not-found")
	if err := runMaybe("make", "undeploy", "ignore-not-found=true"); err != nil {
		GinkgoWriter.Printf("make undeploy: %v\n", err)
	}
}

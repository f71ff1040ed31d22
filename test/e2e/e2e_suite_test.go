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

// Package e2e proves the operator the way a user meets it: a real cluster
// (kwokctl, binary runtime, fake nodes on which Deployments become available
// and Job pods complete, and one real node where pods are containers), the
// operator built and run as a process with its real flags and, on the real
// node, installed as a pod by the Helm chart, manifests applied with kubectl,
// and metrics in a real Prometheus that scrapes the operator, a
// model-server simulator and the real model servers.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var (
	root       string
	kubeconfig string
	kubectlBin string
	workDir    string
	simAddr    string
	promAddr   string
	procs      []*exec.Cmd

	// On kwokctl the operator and Prometheus are local processes that the
	// reliability specs stop, kill and start again.
	operatorMetricsAddr string
	suiteOperator       *exec.Cmd
	prometheusArgs      []string
	prometheusCmd       *exec.Cmd

	// onKind runs the suite on an existing kind cluster (make test-e2e
	// KIND=1) instead of a local kwokctl cluster.
	onKind = os.Getenv("E2E_PLATFORM") == "kind"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e suite (kwokctl cluster, Prometheus, operator process)")
}

// handedOut holds every address freePort returned. A port is free only
// while nothing listens on it: a process the suite restarts (the operator
// on its metrics address) leaves its port free for a moment, and the
// kernel may offer it again, so no address is handed out twice.
var handedOut sync.Map

func freePort() string {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr
		}
	}
}

func run(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "%s %s: %s", name, strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// kubectl runs the cluster's kubectl and returns its output.
func kubectl(args ...string) string { return run(kubectlBin, args...) }

// kubectlMaybe runs kubectl and returns output and error, for polling.
func kubectlMaybe(args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// kubectlAipm runs `kubectl aipm`: kubectl finds the plugin the suite
// built on the PATH, as it finds it for a user.
func kubectlAipm(args ...string) string {
	cmd := exec.Command(kubectlBin, append([]string{"aipm"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+workDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kubectl aipm %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// execKubectl is the cluster's kubectl as a command to run.
func execKubectl(args ...string) *exec.Cmd {
	cmd := exec.Command(kubectlBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	return cmd
}

// kubectlAipmMaybe runs `kubectl aipm` and returns its output and error,
// for a request the API server should refuse.
func kubectlAipmMaybe(args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, append([]string{"aipm"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+workDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// apply pipes manifests into kubectl apply.
func apply(manifest string) {
	cmd := exec.Command(kubectlBin, "apply", "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kubectl apply: %s", out)
}

// builtBinary builds one component with hack/build-control-plane.sh (once;
// later calls find it) and returns its path. Only stdout names the
// directory: a cold build logs its progress, and go's downloads, on stderr.
func builtBinary(component string) string {
	GinkgoHelper()
	build := exec.Command(filepath.Join(root, "hack", "build-control-plane.sh"), component)
	build.Dir, build.Stderr = root, GinkgoWriter
	out, err := build.Output()
	Expect(err).NotTo(HaveOccurred(), "building %s", component)
	return filepath.Join(strings.TrimSpace(string(out)), component)
}

// waitEstablished waits until the API server serves crd. Polled: kubectl
// wait fails at once on a CRD that has no conditions yet.
func waitEstablished(crd string) {
	GinkgoHelper()
	Eventually(func() string {
		return jsonpath("crd", crd, `.status.conditions[?(@.type=="Established")].status`)
	}, "60s").Should(Equal("True"), "CRD %s established", crd)
}

// jsonpath reads one field of an object, "" when it does not exist yet.
func jsonpath(kind, name, path string) string {
	out, err := kubectlMaybe("get", kind, name, "-n", "default", "-o", "jsonpath={"+path+"}")
	if err != nil {
		return ""
	}
	return out
}

// runMaybe runs a command from the repository root and returns its error,
// for clean-up that may find nothing to do.
func runMaybe(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	return cmd.Run()
}

// start runs a process in the background, logging to bin/e2e/<name>.log
// (<name>-2.log and so on when it runs more than once).
func start(name string, args ...string) *exec.Cmd { return startWith(nil, name, args...) }

// startWith is start with env added to the process's environment.
func startWith(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), env...)
	logName := filepath.Join(workDir, filepath.Base(name)+".log")
	for i := 2; ; i++ {
		if _, err := os.Stat(logName); os.IsNotExist(err) {
			break
		}
		logName = filepath.Join(workDir, fmt.Sprintf("%s-%d.log", filepath.Base(name), i))
	}
	logFile, err := os.Create(logName)
	Expect(err).NotTo(HaveOccurred())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	Expect(cmd.Start()).To(Succeed())
	procs = append(procs, cmd)
	return cmd
}

// operatorFlags are the flags the suite runs the operator with; extra
// flags come last and win.
func operatorFlags(metricsAddr string, extra ...string) []string {
	return append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", freePort(),
		"--leader-election-namespace", "default",
		"--prometheus-address", "http://" + promAddr,
		// The notification Secret is in default; read often, so that a
		// scenario's sinks apply within seconds.
		"--operator-namespace", "default",
		"--notifications-refresh", "2s",
		// The scenarios of the webhook point a ValidatingWebhookConfiguration
		// at the operator, and start it with the webhook, for their
		// duration; the others, and the operator killed at random, run
		// without one.
		"--webhooks=false",
	}, extra...)
}

// startOperator runs the operator binary the suite built.
func startOperator(metricsAddr string, extra ...string) *exec.Cmd {
	return start(filepath.Join(workDir, "manager"), operatorFlags(metricsAddr, extra...)...)
}

// startSuiteOperator runs the operator the scenarios use, on the metrics
// address Prometheus scrapes.
func startSuiteOperator() {
	suiteOperator = startOperator(operatorMetricsAddr)
}

// stopSuiteOperator stops it the way Kubernetes does, with SIGTERM, and
// waits until it has exited (and released its Lease).
func stopSuiteOperator() {
	if suiteOperator == nil {
		return
	}
	Expect(suiteOperator.Process.Signal(syscall.SIGTERM)).To(Succeed())
	_ = suiteOperator.Wait()
	suiteOperator = nil
}

func startPrometheus() {
	prometheusCmd = start(prometheusArgs[0], prometheusArgs[1:]...)
	Eventually(func() error { _, _, err := promQuery("up"); return err }).Should(Succeed())
}

func stopPrometheus() {
	Expect(prometheusCmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	_ = prometheusCmd.Wait()
	prometheusCmd = nil
}

// simSet sets a series the simulator serves.
func simSet(name string, labels map[string]string, value float64) {
	body, _ := json.Marshal(map[string]any{"name": name, "labels": labels, "value": value})
	resp, err := http.Post("http://"+simAddr+"/set", "application/json", bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
	Expect(resp.StatusCode).To(Equal(http.StatusNoContent))
}

// simSetAll sets several series at once, as the buckets of one histogram
// change, and waits until Prometheus has scraped them.
func simSetAll(name string, series []map[string]any) {
	var batch []map[string]any
	for _, s := range series {
		batch = append(batch, map[string]any{"name": name, "labels": s["labels"], "value": s["value"]})
	}
	body, _ := json.Marshal(batch)
	resp, err := http.Post("http://"+simAddr+"/set", "application/json", bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
	Expect(resp.StatusCode).To(Equal(http.StatusNoContent))
	for _, s := range series {
		var sel []string
		for k, v := range s["labels"].(map[string]string) {
			sel = append(sel, fmt.Sprintf("%s=%q", k, v))
		}
		q := fmt.Sprintf("%s{%s}", name, strings.Join(sel, ","))
		EventuallyWithOffset(1, func() float64 { _, v, _ := promQuery(q); return v }).Should(BeNumerically("~", s["value"].(float64), 1e-9))
	}
}

// simRate makes a counter of the simulator grow by perSecond from now on.
func simRate(name string, labels map[string]string, perSecond float64) {
	body, _ := json.Marshal(map[string]any{"name": name, "labels": labels, "value": perSecond})
	resp, err := http.Post("http://"+simAddr+"/rate", "application/json", bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
	Expect(resp.StatusCode).To(Equal(http.StatusNoContent))
}

// simSetSeen sets a series and waits until Prometheus has scraped it, so
// that what the operator queries next is what the test just set.
func simSetSeen(name string, labels map[string]string, value float64) {
	simSet(name, labels, value)
	var sel []string
	for k, v := range labels {
		sel = append(sel, fmt.Sprintf("%s=%q", k, v))
	}
	q := fmt.Sprintf("%s{%s}", name, strings.Join(sel, ","))
	EventuallyWithOffset(1, func() float64 { _, v, _ := promQuery(q); return v }).Should(BeNumerically("~", value, 1e-9))
}

// promQuery runs an instant query on the real Prometheus and returns the
// number of series and the first value.
func promQuery(q string) (int, float64, error) {
	resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, 0, err
	}
	if out.Status != "success" {
		return 0, 0, fmt.Errorf("%s: %s", q, out.Error)
	}
	if len(out.Data.Result) == 0 {
		return 0, 0, nil
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, _ := strconv.ParseFloat(s, 64)
	return len(out.Data.Result), v, nil
}

// ensurePrometheus finds a Prometheus server binary, installing Debian's
// package when it is missing and the test runs as root.
func ensurePrometheus() string {
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		out, err := exec.Command("bash", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "installing Debian's prometheus package: %s", out)
	}
	p, err := exec.LookPath("prometheus")
	Expect(err).NotTo(HaveOccurred(), "the e2e suite needs a prometheus binary (Debian: apt-get install prometheus)")
	return p
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(90 * time.Second)
	SetDefaultEventuallyPollingInterval(500 * time.Millisecond)
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	root = filepath.Join(wd, "..", "..")
	workDir = filepath.Join(root, "bin", "e2e")
	Expect(os.RemoveAll(workDir)).To(Succeed())
	Expect(os.MkdirAll(workDir, 0o755)).To(Succeed())
	// kubectl's discovery cache of the suite's own: a cluster recreated at
	// the same address would otherwise be read through what kubectl cached
	// of an earlier one, whose kinds (Argo Rollouts' Experiment, short
	// name exp) may shadow the operator's.
	Expect(os.Setenv("KUBECACHEDIR", filepath.Join(workDir, "kubectl-cache"))).To(Succeed())

	if onKind {
		setUpKind()
	} else {
		setUpKwok()
	}
	Eventually(func() float64 { _, v, _ := promQuery(`up{job="aipm-operator"}`); return v }).Should(Equal(1.0))
	Eventually(func() float64 { _, v, _ := promQuery(`up{job="simulator"}`); return v }).Should(Equal(1.0))
	// The Gateway API's HTTPRoute, from the module the operator builds
	// with: a team's route is one the operator writes to.
	gw := strings.TrimSpace(run("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api"))
	kubectl("apply", "--server-side", "-f", filepath.Join(gw, "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml"))
	waitEstablished("httproutes.gateway.networking.k8s.io")
	// A clean slate: products from an earlier run would confuse the counts.
	kubectl("delete", "aiproducts,modelversions,experiments,retrainingruns,jobs,deployments,services,httproutes", "-n", "default", "-l", "e2e=aipm", "--ignore-not-found", "--wait")
	// The versions retraining registered carry no e2e label; the namespace
	// is the suite's own.
	kubectl("delete", "modelversions,retrainingruns", "-n", "default", "--all", "--ignore-not-found", "--wait")
})

// setUpKwok starts the kwokctl cluster and runs the simulator, Prometheus
// and the operator as processes on this machine.
func setUpKwok() {
	By("bringing up the kwokctl cluster")
	// The script prints the kubeconfig path on stdout; a first run also
	// logs the control-plane build on stderr.
	up := exec.Command(filepath.Join(root, "hack", "cluster.sh"), "up")
	up.Dir, up.Stderr = root, GinkgoWriter
	out, err := up.Output()
	Expect(err).NotTo(HaveOccurred(), "hack/cluster.sh up")
	kubeconfig = strings.TrimSpace(string(out))
	kubectlBin = filepath.Join(root, "bin", "k8s", "v1.37.2", "kubectl")

	By("building the operator and the model-server simulator")
	// Static, as hack/images.sh builds them for the real node's images, so
	// that both builds share Go's cache.
	static := append(os.Environ(), "CGO_ENABLED=0")
	for pkg, out := range map[string]string{"./cmd": "manager", "./test/simulator": "simulator", "./cmd/kubectl-aipm": "kubectl-aipm"} {
		build := exec.Command("go", "build", "-ldflags", "-s -w", "-o", filepath.Join(workDir, out), pkg)
		build.Dir, build.Env = root, static
		b, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "go build %s: %s", pkg, b)
	}

	By("starting the simulator")
	addrFile := filepath.Join(workDir, "simulator.addr")
	start(filepath.Join(workDir, "simulator"), "--addr-file", addrFile)
	Eventually(func() error { b, err := os.ReadFile(addrFile); simAddr = string(b); return err }).Should(Succeed())

	By("giving Prometheus a token that may read the operator's metrics")
	apply(`
apiVersion: v1
kind: ServiceAccount
metadata: {name: e2e-prometheus, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-metrics-reader}
rules:
- nonResourceURLs: ["/metrics"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-metrics-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-metrics-reader}
subjects:
- {kind: ServiceAccount, name: e2e-prometheus, namespace: default}
`)
	token := kubectl("create", "token", "e2e-prometheus", "-n", "default", "--duration", "2h")
	Expect(os.WriteFile(filepath.Join(workDir, "token"), []byte(token), 0o600)).To(Succeed())

	metricsAddr := freePort()
	promAddr = freePort()

	By("starting Prometheus, scraping the operator and the simulator every second")
	// On the real node it also scrapes the operator's replicas and the
	// model servers, labelling a server's series with the product and
	// version its pod serves, as a cluster's Prometheus does. Debian's
	// Prometheus is built without Kubernetes discovery, so the suite finds
	// the pods (discoverPods) and hands them over in file_sd files.
	targets := filepath.Join(workDir, "targets")
	Expect(os.MkdirAll(targets, 0o755)).To(Succeed())
	config := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: simulator
  static_configs: [{targets: [%[1]q]}]
- job_name: aipm-operator
  scheme: https
  honor_labels: true
  authorization: {credentials_file: %[2]q}
  tls_config: {insecure_skip_verify: true}
  static_configs: [{targets: [%[3]q]}]
- job_name: aipm-operator-pods
  scheme: https
  honor_labels: true
  authorization: {credentials_file: %[2]q}
  tls_config: {insecure_skip_verify: true}
  file_sd_configs: [{files: [%[4]q], refresh_interval: 1s}]
- job_name: model-servers
  file_sd_configs: [{files: [%[5]q], refresh_interval: 1s}]
`, simAddr, filepath.Join(workDir, "token"), metricsAddr, filepath.Join(targets, "operator.json"), filepath.Join(targets, "model-servers.json"))
	Expect(os.WriteFile(filepath.Join(workDir, "prometheus.yml"), []byte(config), 0o644)).To(Succeed())
	// Pods on the real node reach it at the node's address.
	prometheusArgs = []string{ensurePrometheus(), "--config.file", filepath.Join(workDir, "prometheus.yml"),
		"--storage.tsdb.path", filepath.Join(workDir, "tsdb"), "--web.listen-address", "0.0.0.0" + promAddr[strings.LastIndex(promAddr, ":"):]}
	startPrometheus()

	go discoverPods(targets)

	By("starting the operator with its real flags")
	operatorMetricsAddr = metricsAddr
	startSuiteOperator()
}

// discoverPods writes, every second, the Prometheus file_sd targets of the
// pods on the real node: the operator's replicas (metrics on 8443) and the
// model servers (8080), with the labels Kubernetes discovery and a
// relabelling by pod label would give them.
func discoverPods(dir string) {
	defer GinkgoRecover()
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	list := func(args ...string) []group {
		out, err := kubectlMaybe(append([]string{"get", "pods", "--field-selector", "spec.nodeName=aipm-node,status.phase=Running", "-o",
			`jsonpath={range .items[*]}{.status.podIP} {.metadata.name} {.metadata.labels.lifecycle\.aipm\.io/product} {.metadata.labels.lifecycle\.aipm\.io/version}{"\n"}{end}`}, args...)...)
		if err != nil {
			return nil
		}
		groups := []group{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			g := group{Targets: []string{f[0]}, Labels: map[string]string{"pod": f[1]}}
			if len(f) == 4 {
				g.Labels["product"], g.Labels["version"] = f[2], f[3]
			}
			groups = append(groups, g)
		}
		return groups
	}
	write := func(name string, groups []group, port string) {
		if groups == nil {
			return
		}
		for i := range groups {
			groups[i].Targets[0] += ":" + port
		}
		b, _ := json.Marshal(groups)
		tmp := filepath.Join(dir, "."+name)
		if os.WriteFile(tmp, b, 0o644) == nil {
			_ = os.Rename(tmp, filepath.Join(dir, name))
		}
	}
	for {
		write("operator.json", list("-n", "aipm-operator-system", "-l", "control-plane=controller-manager"), "8443")
		write("model-servers.json", list("-n", "default", "-l", "app.kubernetes.io/component=model-server"), "8080")
		time.Sleep(time.Second)
	}
}

var _ = AfterSuite(func() {
	for _, p := range procs {
		if p.Process != nil {
			_ = p.Process.Signal(os.Interrupt)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range procs {
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			_ = p.Process.Kill()
		}
	}
	switch {
	case onKind:
		tearDownKind()
	case os.Getenv("E2E_KEEP_CLUSTER") == "":
		run(filepath.Join(root, "hack", "cluster.sh"), "down")
	}
})

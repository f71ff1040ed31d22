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

// Package helm tests the chart charts/aipm-operator with helm itself (built
// from the module proxy into bin/ by `make helm`): it lints, and rendered
// with its defaults it holds exactly the objects of `kustomize build
// config/default`, so that the two ways to install never drift.
package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	root  = "../.."
	chart = "charts/aipm-operator"
	// release and namespace are what config/default's namePrefix and
	// namespace give its objects.
	release   = "aipm-operator"
	namespace = "aipm-operator-system"
)

func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(root, "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: run `make %s` (make test does): %v", path, name, err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(tool(t, name), args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// objects decodes a stream of YAML documents, keyed by
// kind/namespace/name (namespace empty for cluster-scoped objects).
func objects(t *testing.T, stream []byte) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatal(err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		key := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
		if _, dup := out[key]; dup {
			t.Fatalf("%s twice", key)
		}
		out[key] = u
	}
	return out
}

func template(t *testing.T, args ...string) map[string]*unstructured.Unstructured {
	t.Helper()
	return objects(t, run(t, "helm", append([]string{"template", release, chart, "--namespace", namespace, "--include-crds"}, args...)...))
}

// comparable drops what only one of the two ways sets: labels (helm's
// release labels, kustomize's managed-by) and nothing else.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	c.SetLabels(nil)
	// Both sides decode JSON numbers alike only through JSON.
	b, _ := json.Marshal(c.Object)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// manager returns the operator's container of the rendered Deployment.
func manager(t *testing.T, got map[string]*unstructured.Unstructured) map[string]any {
	t.Helper()
	d := got["Deployment/"+namespace+"/"+release+"-controller-manager"]
	if d == nil {
		t.Fatal("no Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	return containers[0].(map[string]any)
}

// managerArgs returns the operator's arguments.
func managerArgs(t *testing.T, got map[string]*unstructured.Unstructured) []string {
	t.Helper()
	var args []string
	for _, a := range manager(t, got)["args"].([]any) {
		args = append(args, a.(string))
	}
	return args
}

func TestLint(t *testing.T) {
	out := run(t, "helm", "lint", "--strict", chart)
	if !bytes.Contains(out, []byte("0 chart(s) failed")) {
		t.Fatalf("helm lint: %s", out)
	}
	run(t, "helm", "lint", "--strict", chart, "--set", "metrics.serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboards.enabled=true")
}

func TestDefaultsAreKustomizeObjects(t *testing.T) {
	want := objects(t, run(t, "kustomize", "build", "config/default"))
	// The admission policies are cluster-scoped and live apart from
	// config/default; `make deploy` applies both.
	for key, o := range objects(t, run(t, "kustomize", "build", "config/admission")) {
		want[key] = o
	}
	got := template(t)
	for key, w := range want {
		if w.GetKind() == "Namespace" {
			// helm install --create-namespace makes it; the chart does not
			// own the namespace it is installed into.
			continue
		}
		g, ok := got[key]
		if !ok {
			t.Errorf("%s: in config/default, not in the chart", key)
			continue
		}
		if diff := cmp.Diff(comparable(w), comparable(g)); diff != "" {
			t.Errorf("%s differs (-kustomize +helm):\n%s", key, diff)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: in the chart's defaults, not in config/default or config/admission", key)
		}
	}
	if len(got) < 20 {
		t.Errorf("the chart renders %d objects: fewer than the CRDs, RBAC and the operator", len(got))
	}
}

func TestValues(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`
image: {repository: registry.example/aipm-operator, tag: v1.2.3}
replicas: 2
prometheus:
  address: https://mimir.example:8080/prometheus
  caFile: /etc/prom/ca.crt
  headers: {X-Scope-OrgID: team-a}
kubeAPI: {qps: 50, burst: 100}
retraining:
  serviceAccounts: [trainer, gpu-trainer]
metrics:
  serviceMonitor: {enabled: true, labels: {release: kube-prometheus}}
prometheusRule: {enabled: true}
grafanaDashboards: {enabled: true}
nodeSelector: {kubernetes.io/os: linux}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	got := template(t, "--values", values)
	d := got["Deployment/"+namespace+"/"+release+"-controller-manager"]
	if d == nil {
		t.Fatal("no Deployment")
	}
	if r, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); r != float64(2) {
		t.Errorf("replicas %v, want 2", r)
	}
	if c := manager(t, got); c["image"] != "registry.example/aipm-operator:v1.2.3" {
		t.Errorf("image %v", c["image"])
	}
	args := managerArgs(t, got)
	for _, want := range []string{
		"--leader-elect",
		"--prometheus-address=https://mimir.example:8080/prometheus",
		"--prometheus-ca-file=/etc/prom/ca.crt",
		"--prometheus-header=X-Scope-OrgID: team-a",
		"--kube-api-qps=50", "--kube-api-burst=100",
		"--retraining-service-accounts=trainer,gpu-trainer",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "spec", "nodeSelector"); sel["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector %v", sel)
	}

	sm := got["ServiceMonitor/"+namespace+"/"+release+"-controller-manager-metrics-monitor"]
	if sm == nil || sm.GetLabels()["release"] != "kube-prometheus" {
		t.Errorf("ServiceMonitor %v: want it, with its label", sm)
	}

	rule := got["PrometheusRule/"+namespace+"/"+release+"-alerts"]
	if rule == nil {
		t.Fatal("no PrometheusRule")
	}
	b, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "rules", "aipm.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules map[string]any
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	spec, _, _ := unstructured.NestedMap(rule.Object, "spec")
	if diff := cmp.Diff(rules, spec); diff != "" {
		t.Errorf("PrometheusRule spec differs from config/prometheus/rules/aipm.rules.yaml (-file +chart):\n%s", diff)
	}

	cm := got["ConfigMap/"+namespace+"/"+release+"-grafana-dashboards"]
	if cm == nil {
		t.Fatal("no dashboards ConfigMap")
	}
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboards ConfigMap labels %v: want the sidecar's label", cm.GetLabels())
	}
	files, _ := filepath.Glob(filepath.Join(root, "config", "grafana", "dashboards", "*.json"))
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(data[filepath.Base(f)]) != strings.TrimSpace(string(b)) {
			t.Errorf("dashboard %s differs from %s", filepath.Base(f), f)
		}
	}
	if len(files) == 0 || len(data) != len(files) {
		t.Errorf("%d dashboards in the ConfigMap, %d in config/grafana/dashboards", len(data), len(files))
	}
}

func TestNoLeaderElection(t *testing.T) {
	got := template(t, "--set", "leaderElection=false")
	if _, ok := got["RoleBinding/"+namespace+"/"+release+"-leader-election-rolebinding"]; ok {
		t.Error("a leader election RoleBinding without leader election")
	}
	if args := managerArgs(t, got); !slices.Contains(args, "--leader-elect=false") {
		t.Errorf("args %v: want --leader-elect=false", args)
	}
}

func TestWatchNamespaces(t *testing.T) {
	got := template(t, "--set", "watchNamespaces={team-a,team-b}")
	if _, ok := got["ClusterRoleBinding//"+release+"-manager-rolebinding"]; ok {
		t.Error("watching two namespaces, the manager's role is still bound cluster-wide")
	}
	var bound []string
	for _, ns := range []string{"team-a", "team-b"} {
		if _, ok := got["RoleBinding/"+ns+"/"+release+"-manager-rolebinding"]; ok {
			bound = append(bound, ns)
		}
	}
	if !slices.Equal(bound, []string{"team-a", "team-b"}) {
		t.Errorf("the manager's role is bound in %v, want team-a and team-b", bound)
	}
	if args := managerArgs(t, got); !slices.Contains(args, "--watch-namespaces=team-a,team-b") {
		t.Errorf("args %v: want --watch-namespaces", args)
	}
}

// TestCertManagerOverlay: config/overlays/cert-manager hands the webhook's
// certificate to cert-manager: a Certificate for the webhook Service's
// names into the Secret the manager mounts and reads, and the CA injected
// into the configuration.
func TestCertManagerOverlay(t *testing.T) {
	got := objects(t, run(t, "kustomize", "build", "config/overlays/cert-manager"))
	cert := got["Certificate/"+namespace+"/aipm-operator-serving-cert"]
	svc := got["Service/"+namespace+"/aipm-operator-webhook-service"]
	vwc := got["ValidatingWebhookConfiguration//aipm-operator-validating-webhook-configuration"]
	d := got["Deployment/"+namespace+"/aipm-operator-controller-manager"]
	if cert == nil || svc == nil || vwc == nil || d == nil {
		t.Fatalf("the overlay lacks the Certificate, the webhook Service, the configuration or the Deployment")
	}
	names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if want := svc.GetName() + "." + svc.GetNamespace() + ".svc"; !slices.Contains(names, want) {
		t.Errorf("the Certificate is for %v, not for the webhook Service %s", names, want)
	}
	secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	mounted := false
	for _, v := range volumes {
		s, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
		mounted = mounted || s == secret
	}
	if !mounted {
		t.Errorf("the manager does not mount the Certificate's Secret %s: %v", secret, volumes)
	}
	var args []string
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		args = append(args, a.(string))
	}
	if !slices.Contains(args, "--webhook-cert-dir=/tmp/aipm-operator-webhook-certs") {
		t.Errorf("args %v: the manager would keep its own certificate", args)
	}
	if got := vwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != namespace+"/"+cert.GetName() {
		t.Errorf("inject-ca-from %q, want %s/%s", got, namespace, cert.GetName())
	}
}

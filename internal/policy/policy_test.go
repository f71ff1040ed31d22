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

package policy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// managerPermissions is everything the operator's own ClusterRole may
// grant, as group/resource: verbs. A marker that asks for more fails
// TestManagerRoleIsWhatTheOperatorNeeds until this list, and the table in
// docs/security.md, say why.
var managerPermissions = map[string][]string{
	// Finished retraining Jobs' pods: their termination message is the result.
	"/pods": {"get", "list"},
	// One Service per product and, with an HTTPRoute, one per version;
	// applied (server-side apply needs create and patch, never update).
	"/services": {"create", "delete", "get", "list", "patch", "watch"},
	// One Deployment per live model version and per experiment; applied.
	"apps/deployments": {"create", "delete", "get", "list", "patch", "watch"},
	// Read past the cache before a version shrinks: their statuses confirm
	// the other version's available pods.
	"apps/replicasets": {"get", "list"},
	// Retraining Jobs, one per RetrainingRun and owned by it; evaluation
	// Jobs, one per ModelVersion and owned by it.
	"batch/jobs": {"create", "delete", "get", "list", "watch"},
	// Events on products and versions.
	"events.k8s.io/events": {"create", "patch"},
	// The backendRefs and mirror filter of the route a product names.
	"gateway.networking.k8s.io/httproutes": {"get", "patch"},
	// Products: read; patched only to remove a handled request annotation.
	"lifecycle.aipm.io/aiproducts":        {"get", "list", "patch", "watch"},
	"lifecycle.aipm.io/aiproducts/status": {"get", "patch", "update"},
	// Versions: registered from retraining results, labelled with their
	// product; finalizers, since the evaluation Job a version owns blocks
	// its deletion.
	"lifecycle.aipm.io/modelversions":            {"create", "get", "list", "patch", "update", "watch"},
	"lifecycle.aipm.io/modelversions/status":     {"get", "patch", "update"},
	"lifecycle.aipm.io/modelversions/finalizers": {"update"},
	// Approvals: read when a promotion needs sign-off; people make them.
	"lifecycle.aipm.io/approvals": {"get", "list", "watch"},
	// Experiments: applied by their product, which deletes one to rerun it;
	// their status written by their own controller.
	"lifecycle.aipm.io/experiments":        {"create", "delete", "get", "list", "patch", "update", "watch"},
	"lifecycle.aipm.io/experiments/status": {"get", "patch", "update"},
	// RetrainingRuns: created once per trigger by their product, which
	// prunes them to the history limits; their status written by their own
	// controller; finalizers, since the Job a run owns blocks its deletion.
	"lifecycle.aipm.io/retrainingruns":            {"create", "delete", "get", "list", "watch"},
	"lifecycle.aipm.io/retrainingruns/status":     {"get", "patch", "update"},
	"lifecycle.aipm.io/retrainingruns/finalizers": {"update"},
	// The storageUri and canary percentage of the InferenceService a product
	// names; in KServe's Standard mode the canary InferenceService the
	// product owns; their metadata watched to wake the product.
	"serving.kserve.io/inferenceservices": {"create", "delete", "get", "list", "patch", "watch"},
	// The training engines' workloads, one per RetrainingRun of that
	// backend and owned by it (garbage collection deletes them with it);
	// watched once a run needs the kind.
	"trainer.kubeflow.org/trainjobs": {"create", "get", "list", "watch"},
	"jobset.x-k8s.io/jobsets":        {"create", "get", "list", "watch"},
	"ray.io/rayjobs":                 {"create", "get", "list", "watch"},
	// A TrainJob's runtime, read to check the pods it makes against the
	// retraining policy before the TrainJob is created.
	"trainer.kubeflow.org/trainingruntimes":        {"get"},
	"trainer.kubeflow.org/clustertrainingruntimes": {"get"},
}

// dangerous are resources no role shipped here may touch at all: reading
// them, or creating them, is a step to someone else's credentials or node.
var dangerous = []string{"secrets", "serviceaccounts/token", "pods/exec", "pods/attach", "pods/portforward",
	"pods/ephemeralcontainers", "nodes/proxy", "certificatesigningrequests/approval", "tokenrequests"}

type manifests struct {
	roles    map[string][]rbacv1.PolicyRule // by kind/name
	bindings []binding
}

type binding struct {
	name     string
	roleRef  rbacv1.RoleRef
	subjects []rbacv1.Subject
}

// documents splits a YAML file into its documents.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufioReader(raw))
	var out [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			out = append(out, doc)
		}
	}
}

func readRBAC(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("../../config/rbac/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no RBAC manifests: %v", err)
	}
	m := manifests{roles: map[string][]rbacv1.PolicyRule{}}
	for _, f := range files {
		for _, doc := range documents(t, f) {
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			switch head.Kind {
			case "ClusterRole", "Role":
				var role rbacv1.ClusterRole
				if err := yaml.UnmarshalStrict(doc, &role); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if role.AggregationRule != nil {
					t.Errorf("%s: %s aggregates other roles; its rights would be whatever they grow to", f, role.Name)
				}
				m.roles[head.Kind+"/"+role.Name] = role.Rules
			case "ClusterRoleBinding", "RoleBinding":
				var b rbacv1.ClusterRoleBinding
				if err := yaml.UnmarshalStrict(doc, &b); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				m.bindings = append(m.bindings, binding{name: b.Name, roleRef: b.RoleRef, subjects: b.Subjects})
			}
		}
	}
	return m
}

// TestNoWildcardsNoSecretsNoEscalation holds every role shipped in
// config/rbac, the operator's and the ones for people, to least privilege.
func TestNoWildcardsNoSecretsNoEscalation(t *testing.T) {
	m := readRBAC(t)
	if len(m.roles) < 5 {
		t.Fatalf("read only %d roles; the glob is wrong", len(m.roles))
	}
	for name, rules := range m.roles {
		for i, r := range rules {
			at := func(what string) {
				t.Errorf("%s rule %d (%v %v %v): %s", name, i, r.APIGroups, r.Resources, r.Verbs, what)
			}
			for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
				for _, v := range list {
					if strings.Contains(v, "*") {
						at("wildcard " + v)
					}
				}
			}
			for _, res := range r.Resources {
				if (name == notificationsRole || name == webhookCertRole) && res == "secrets" {
					continue // TestOneSecretEach holds them to that
				}
				if slices.Contains(dangerous, res) || strings.HasPrefix(res, "secrets/") {
					at("grants access to " + res)
				}
			}
			for _, g := range r.APIGroups {
				if g == "rbac.authorization.k8s.io" {
					at("grants access to RBAC itself")
				}
			}
			for _, v := range r.Verbs {
				if v == "escalate" || v == "bind" || v == "impersonate" {
					at("grants " + v)
				}
			}
			for _, u := range r.NonResourceURLs {
				if u != "/metrics" {
					at("grants the non-resource URL " + u)
				}
			}
		}
	}
}

// TestManagerRoleIsWhatTheOperatorNeeds: the generated ClusterRole grants
// the operator nothing beyond managerPermissions.
func TestManagerRoleIsWhatTheOperatorNeeds(t *testing.T) {
	m := readRBAC(t)
	rules, ok := m.roles["ClusterRole/manager-role"]
	if !ok {
		t.Fatal("config/rbac/role.yaml has no manager-role; run make manifests")
	}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				allowed := managerPermissions[g+"/"+res]
				for _, v := range r.Verbs {
					if !slices.Contains(allowed, v) {
						t.Errorf("manager-role grants %s on %s/%s, which the operator's list does not name", v, g, res)
					}
				}
			}
		}
	}
}

// TestOperatorBindingsNameOnlyItsServiceAccount: the operator's rights go
// to its own ServiceAccount, never to a group such as all authenticated
// users.
func TestOperatorBindingsNameOnlyItsServiceAccount(t *testing.T) {
	m := readRBAC(t)
	if len(m.bindings) == 0 {
		t.Fatal("no bindings read")
	}
	for _, b := range m.bindings {
		for _, s := range b.subjects {
			if s.Kind != rbacv1.ServiceAccountKind || s.Name != "controller-manager" || s.Namespace != "system" {
				t.Errorf("binding %s of %s names %s %s/%s; only the operator's ServiceAccount may be bound here",
					b.name, b.roleRef.Name, s.Kind, s.Namespace, s.Name)
			}
		}
	}
}

// TestLeaderElectionTakesOnlyLeases: the Lease is all controller-runtime
// elects with, so the namespaced role grants no ConfigMaps.
// The roles that may touch a Secret, each one Secret by name.
const (
	notificationsRole = "Role/notifications-role"
	webhookCertRole   = "Role/webhook-cert-role"
)

// TestOneSecretEach: the operator may get its notification Secret, and get
// and update its webhook certificate's, by name, in its own namespace
// (Roles), and nothing else of Secrets: no create, list or watch, no
// other name; and patch its own ValidatingWebhookConfiguration alone.
func TestOneSecretEach(t *testing.T) {
	m := readRBAC(t)
	for name, want := range map[string][]rbacv1.PolicyRule{
		notificationsRole: {{APIGroups: []string{""}, Resources: []string{"secrets"},
			ResourceNames: []string{"aipm-operator-notifications"}, Verbs: []string{"get"}}},
		webhookCertRole: {{APIGroups: []string{""}, Resources: []string{"secrets"},
			ResourceNames: []string{"aipm-operator-webhook-server-cert"}, Verbs: []string{"get", "update"}}},
		"ClusterRole/webhook-configuration-role": {{APIGroups: []string{"admissionregistration.k8s.io"},
			Resources: []string{"validatingwebhookconfigurations"}, ResourceNames: []string{"aipm-operator-validating-webhook-configuration"},
			Verbs: []string{"get", "patch"}}},
	} {
		rules, ok := m.roles[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		if !reflect.DeepEqual(rules, want) {
			t.Errorf("%s grants %+v, want exactly %+v", name, rules, want)
		}
	}
}

func TestLeaderElectionTakesOnlyLeases(t *testing.T) {
	m := readRBAC(t)
	rules, ok := m.roles["Role/leader-election-role"]
	if !ok {
		t.Fatal("no leader-election-role")
	}
	for _, r := range rules {
		for _, res := range r.Resources {
			if res != "leases" && res != "events" {
				t.Errorf("leader-election-role grants %v on %s", r.Verbs, res)
			}
		}
	}
}

func managerDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	for _, doc := range documents(t, "../../config/manager/manager.yaml") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		if d.Kind == "Deployment" {
			return &d
		}
	}
	t.Fatal("config/manager/manager.yaml has no Deployment")
	return nil
}

// TestManagerPodIsRestricted runs the Pod Security Admission library's own
// restricted checks, the ones the API server applies to a namespace
// labelled enforce=restricted, over the manager's pod, and asks a
// read-only root filesystem besides.
func TestManagerPodIsRestricted(t *testing.T) {
	d := managerDeployment(t)
	pod := d.Spec.Template
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()},
		&pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			t.Errorf("the manager pod breaks the restricted standard: %s (%s)", r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	psc := pod.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("the manager pod does not set runAsNonRoot")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("the manager pod's seccomp profile is not RuntimeDefault")
	}
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("container %s has no securityContext", c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("container %s: root filesystem is writable", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: privilege escalation is not off", c.Name)
		case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s: capabilities are not all dropped", c.Name)
		}
	}
	if pod.Spec.ServiceAccountName != "controller-manager" {
		t.Errorf("the manager runs as %q, not its own ServiceAccount", pod.Spec.ServiceAccountName)
	}
}

// TestMetricsNeedAuthentication: nothing shipped turns off the metrics
// endpoint's authentication and authorization (--metrics-secure, on by
// default), and the operator may check callers' tokens with the API server.
func TestMetricsNeedAuthentication(t *testing.T) {
	files, err := filepath.Glob("../../config/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("--metrics-secure=false")) {
			t.Errorf("%s turns off the metrics endpoint's authentication", f)
		}
	}
	m := readRBAC(t)
	rules := m.roles["ClusterRole/metrics-auth-role"]
	var reviews []string
	for _, r := range rules {
		if slices.Contains(r.Verbs, "create") {
			reviews = append(reviews, r.Resources...)
		}
	}
	if !slices.Contains(reviews, "tokenreviews") || !slices.Contains(reviews, "subjectaccessreviews") {
		t.Errorf("metrics-auth-role lets the operator create %v; it needs tokenreviews and subjectaccessreviews", reviews)
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

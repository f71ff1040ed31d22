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

package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	cfg *rest.Config
	env *envtest.Environment
)

func TestMain(m *testing.M) {
	flag.Parse()
	env = testenv.Environment()
	var err error
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane (run `make test`, which builds it into bin/):", err)
		os.Exit(1)
	}
	if err := admission(); err != nil {
		fmt.Fprintln(os.Stderr, "applying the admission policies:", err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func newClient(t *testing.T) client.Client {
	t.Helper()
	scheme, err := testenv.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture is testdata/fixture.yaml: a product in the middle of a canary
// with its versions, an experiment and a retraining run, each with the
// status the operator would have written. Objects are created, then their
// status written through the status subresource, in the given namespace.
func fixture(t *testing.T, c client.Client, namespace string) {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join("testdata", "fixture.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": namespace}}}); err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if obj.Object == nil {
			continue
		}
		status := obj.Object["status"]
		delete(obj.Object, "status")
		obj.SetNamespace(namespace)
		if err := c.Create(ctx, &obj); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		if status == nil {
			continue
		}
		obj.Object["status"] = status
		if err := c.Status().Update(ctx, &obj); err != nil {
			t.Fatalf("writing the status of %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// ages are the ages a tree shows, which depend on when the test ran.
var ages = regexp.MustCompile(`\d+[smhd] ago`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = ages.ReplaceAll(got, []byte("AGE ago"))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test ./internal/cli -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestProductTree(t *testing.T) {
	c := newClient(t)
	fixture(t, c, "tree")
	p, err := ReadProduct(context.Background(), c, "tree", "fraud-detector")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Versions) != 3 || len(p.Experiments) != 1 || len(p.Runs) != 1 {
		t.Fatalf("read %d versions, %d experiments, %d runs; want 3, 1, 1 (the other product's are not its own)",
			len(p.Versions), len(p.Experiments), len(p.Runs))
	}
	var out bytes.Buffer
	PrintProduct(&out, p, time.Now())
	golden(t, "product.golden", out.Bytes())

	if _, err := ReadProduct(context.Background(), c, "tree", "nothing"); !apierrors.IsNotFound(err) {
		t.Errorf("a product that is not there: %v, want NotFound", err)
	}
}

func TestLineage(t *testing.T) {
	c := newClient(t)
	fixture(t, c, "lineage")
	var out bytes.Buffer
	if err := PrintLineage(context.Background(), &out, c, "lineage", "fraud-detector-v1-2-0"); err != nil {
		t.Fatal(err)
	}
	golden(t, "lineage.golden", out.Bytes())

	if err := PrintLineage(context.Background(), &out, c, "lineage", "nothing"); !apierrors.IsNotFound(err) {
		t.Errorf("a version that is not there: %v, want NotFound", err)
	}
}

func TestRequest(t *testing.T) {
	c := newClient(t)
	fixture(t, c, "request")
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	msg, err := Request(ctx, c, "request", "fraud-detector", "promote", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if want := "aiproduct.lifecycle.aipm.io/fraud-detector: lifecycle.aipm.io/promote=2026-12-04T09:00:00Z"; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	if _, err := Request(ctx, c, "request", "fraud-detector", "retrain", "ticket-7", now); err != nil {
		t.Fatal(err)
	}
	var p lifecyclev1alpha1.AIProduct
	if err := c.Get(ctx, client.ObjectKey{Namespace: "request", Name: "fraud-detector"}, &p); err != nil {
		t.Fatal(err)
	}
	if got := p.Annotations[lifecyclev1alpha1.AnnotationPromote]; got != "2026-12-04T09:00:00Z" {
		t.Errorf("promote annotation %q, want the time in UTC", got)
	}
	if got := p.Annotations[lifecyclev1alpha1.AnnotationRetrain]; got != "ticket-7" {
		t.Errorf("retrain annotation %q, want the value given", got)
	}
	if p.Annotations["team.example/owner"] != "payments" {
		t.Errorf("annotations %v: the team's own annotation was lost", p.Annotations)
	}
	if _, err := Request(ctx, c, "request", "fraud-detector", "launch", "", now); err == nil ||
		!strings.Contains(err.Error(), "want one of abort, promote, retrain, retry") {
		t.Errorf("an unknown request: %v, want it refused with the known ones", err)
	}
	if _, err := Request(ctx, c, "request", "nothing", "abort", "", now); !apierrors.IsNotFound(err) {
		t.Errorf("a product that is not there: %v, want NotFound", err)
	}
}

// admission applies config/admission and lets every authenticated user
// make Approvals, as config/rbac's approval-approver-role would.
func admission() error {
	scheme, err := testenv.Scheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := testenv.ApplyAdmissionPolicies(ctx, c); err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "approval-approver"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{lifecyclev1alpha1.GroupVersion.Group}, Resources: []string{"approvals"}, Verbs: []string{"create"}},
		{APIGroups: []string{lifecyclev1alpha1.GroupVersion.Group}, Resources: []string{"aiproducts"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "approvers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:authenticated"}}}
	if err := c.Create(ctx, role); err != nil {
		return err
	}
	return c.Create(ctx, binding)
}

func TestDecide(t *testing.T) {
	admin := newClient(t)
	fixture(t, admin, "decide")
	ctx := context.Background()
	scheme, _ := testenv.Scheme()
	as := func(user string) client.Client {
		u, err := env.AddUser(envtest.User{Name: user, Groups: []string{"system:authenticated"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(u.Config(), client.Options{Scheme: scheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	msg, err := Decide(ctx, as("lars@example.com"), "decide", "fraud-detector", "tech-lead", lifecyclev1alpha1.DecisionApprove, "load test passed")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg, "approval.lifecycle.aipm.io/fraud-detector-techlead-") ||
		!strings.HasSuffix(msg, ": lars@example.com approved the promotion of fraud-detector-v1-2-0 as TechLead") {
		t.Errorf("message %q", msg)
	}
	var list lifecyclev1alpha1.ApprovalList
	if err := admin.List(ctx, &list, client.InNamespace("decide")); err != nil || len(list.Items) != 1 {
		t.Fatalf("approvals %v, %v; want the one made", list.Items, err)
	}
	if a := list.Items[0].Spec; a.Version != "fraud-detector-v1-2-0" || a.Approver != "lars@example.com" || a.Comment != "load test passed" {
		t.Errorf("approval %+v", a)
	}
	_, err = Decide(ctx, as("mallory@example.com"), "decide", "fraud-detector", "TechLead", lifecyclev1alpha1.DecisionReject, "no")
	if err == nil || !strings.Contains(err.Error(), "user mallory@example.com is not the TechLead of AIProduct fraud-detector, lars@example.com is") {
		t.Errorf("someone else deciding: %v, want the API server's refusal", err)
	}
	if _, err := Decide(ctx, admin, "decide", "fraud-detector", "cto", lifecyclev1alpha1.DecisionApprove, ""); err == nil ||
		!strings.Contains(err.Error(), "want one of data-scientist, designer, product-manager, tech-lead") {
		t.Errorf("an unknown role: %v", err)
	}
}

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

package statuswrite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var (
	cfg    *rest.Config
	scheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := lifecyclev1alpha1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = filepath.Join("..", "..", "bin", "k8s", "v1.37.2")
	}
	var err error
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane (run `make test`, which builds it into bin/):", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// answers records the Content-Type of every answer to a status write.
type answers struct {
	mu    sync.Mutex
	types []string
	next  http.RoundTripper
}

func (a *answers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/status") {
		a.mu.Lock()
		a.types = append(a.types, resp.Header.Get("Content-Type"))
		a.mu.Unlock()
	}
	return resp, err
}

// leanFor is a Lean writer against the test's control plane whose answers
// are recorded, and a plain client to set up and read back with.
func leanFor(t *testing.T) (*Lean, client.Client, *answers) {
	t.Helper()
	rec := &answers{}
	wcfg := rest.CopyConfig(cfg)
	wcfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	w, err := NewForConfig(wcfg, scheme)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return w, c, rec
}

func newVersion(t *testing.T, c client.Client, name string) *lifecyclev1alpha1.ModelVersion {
	t.Helper()
	mv := &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: lifecyclev1alpha1.ModelVersionSpec{Product: "fraud-detector", Version: "1.0.0",
			Artifact: lifecyclev1alpha1.Artifact{URI: "s3://models/fraud-detector/1.0.0"}},
	}
	if err := c.Create(context.Background(), mv); err != nil {
		t.Fatal(err)
	}
	// As a reconciler gets it: from a cache, with no apiVersion or kind.
	mv.TypeMeta = metav1.TypeMeta{}
	return mv
}

func TestUpdateWritesTheStatusAndTakesTheNewResourceVersion(t *testing.T) {
	ctx := context.Background()
	w, c, rec := leanFor(t)
	mv := newVersion(t, c, "written")
	read := mv.ResourceVersion
	mv.Status.Stage, mv.Status.StageReason = lifecyclev1alpha1.StageCandidate, "registered"
	mv.Spec.Version = "9.9.9" // the status subresource leaves the spec alone

	if err := w.Update(ctx, mv); err != nil {
		t.Fatal(err)
	}
	stored := &lifecyclev1alpha1.ModelVersion{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mv), stored); err != nil {
		t.Fatal(err)
	}
	if stored.Status.Stage != lifecyclev1alpha1.StageCandidate || stored.Status.StageReason != "registered" {
		t.Errorf("stored status = %+v, want stage Candidate, reason registered", stored.Status)
	}
	if stored.Spec.Version != "1.0.0" {
		t.Errorf("stored spec.version = %q, want 1.0.0: a status write must not change the spec", stored.Spec.Version)
	}
	if mv.ResourceVersion == read || mv.ResourceVersion != stored.ResourceVersion {
		t.Errorf("resourceVersion after the write = %q, want the stored %q (read %q)", mv.ResourceVersion, stored.ResourceVersion, read)
	}
	if !mv.GroupVersionKind().Empty() {
		t.Errorf("the written object's kind was left set to %v", mv.GroupVersionKind())
	}
	// The next write from the same copy goes under the new resourceVersion.
	mv.Status.StageReason = "judged"
	if err := w.Update(ctx, mv); err != nil {
		t.Fatalf("a second write from the same copy: %v", err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.types) != 2 {
		t.Fatalf("answers to status writes = %v, want 2", rec.types)
	}
	// A custom resource has no protobuf form: an answer in protobuf is
	// its PartialObjectMetadata, not the whole object in JSON.
	for _, ct := range rec.types {
		if ct != "application/vnd.kubernetes.protobuf" {
			t.Errorf("answer Content-Type = %q, want protobuf (PartialObjectMetadata), not the whole object in JSON", ct)
		}
	}
}

func TestUpdateFromAStaleCopyIsAConflict(t *testing.T) {
	ctx := context.Background()
	w, c, _ := leanFor(t)
	mv := newVersion(t, c, "stale")
	stale := mv.DeepCopy()
	mv.Status.StageReason = "first"
	if err := w.Update(ctx, mv); err != nil {
		t.Fatal(err)
	}

	stale.Status.StageReason = "from the stale copy"
	err := w.Update(ctx, stale)
	if !apierrors.IsConflict(err) {
		t.Fatalf("write from a stale copy: err = %v, want a Conflict", err)
	}
	if stale.ResourceVersion == mv.ResourceVersion {
		t.Errorf("a refused write moved the copy's resourceVersion to %q", stale.ResourceVersion)
	}
	stored := &lifecyclev1alpha1.ModelVersion{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mv), stored); err != nil {
		t.Fatal(err)
	}
	if stored.Status.StageReason != "first" {
		t.Errorf("stored reason = %q, want the first write's", stored.Status.StageReason)
	}
}

func TestUpdateOfAMissingObjectIsNotFound(t *testing.T) {
	w, _, _ := leanFor(t)
	mv := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "never-created", ResourceVersion: "1"}}
	if err := w.Update(context.Background(), mv); !apierrors.IsNotFound(err) {
		t.Fatalf("err = %v, want NotFound", err)
	}
}

// fakeServer answers every request with body as JSON.
func fakeServer(t *testing.T, status int, body string) (*Lean, *http.Request) {
	t.Helper()
	var got http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = *r
		b, _ := io.ReadAll(r.Body)
		got.Body = io.NopCloser(strings.NewReader(string(b)))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(lifecyclev1alpha1.GroupVersion.WithKind("ModelVersion"), meta.RESTScopeNamespace)
	return New(&rest.Config{Host: srv.URL}, srv.Client(), scheme, mapper), &got
}

func TestUpdateReadsTheWholeObjectFromAnAPIServerThatCannotTransform(t *testing.T) {
	w, got := fakeServer(t, http.StatusOK,
		`{"apiVersion":"lifecycle.aipm.io/v1alpha1","kind":"ModelVersion","metadata":{"name":"old","namespace":"default","resourceVersion":"42"},"status":{"stage":"Candidate"}}`)
	mv := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "old", ResourceVersion: "41"}}
	mv.Status.Stage = lifecyclev1alpha1.StageCandidate
	if err := w.Update(context.Background(), mv); err != nil {
		t.Fatal(err)
	}
	if mv.ResourceVersion != "42" {
		t.Errorf("resourceVersion = %q, want 42 from the answer", mv.ResourceVersion)
	}
	if got.Method != http.MethodPut || got.URL.Path != "/apis/lifecycle.aipm.io/v1alpha1/namespaces/default/modelversions/old/status" {
		t.Errorf("request = %s %s, want PUT of the version's status", got.Method, got.URL.Path)
	}
	var sent map[string]any
	if err := json.NewDecoder(got.Body).Decode(&sent); err != nil {
		t.Fatal(err)
	}
	if sent["apiVersion"] != "lifecycle.aipm.io/v1alpha1" || sent["kind"] != "ModelVersion" {
		t.Errorf("body apiVersion/kind = %v/%v, want lifecycle.aipm.io/v1alpha1 ModelVersion", sent["apiVersion"], sent["kind"])
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("request Content-Type = %q, want application/json", ct)
	}
}

func TestUpdateRefusesAnAnswerWithoutAResourceVersion(t *testing.T) {
	w, _ := fakeServer(t, http.StatusOK, `{"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadata","metadata":{"name":"old"}}`)
	mv := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "old", ResourceVersion: "41"}}
	if err := w.Update(context.Background(), mv); err == nil || !strings.Contains(err.Error(), "no resourceVersion") {
		t.Fatalf("err = %v, want one naming the missing resourceVersion", err)
	}
	if mv.ResourceVersion != "41" {
		t.Errorf("resourceVersion = %q, want the one read (41)", mv.ResourceVersion)
	}
}

func TestUpdateReturnsTheAPIServersRefusal(t *testing.T) {
	w, _ := fakeServer(t, http.StatusUnprocessableEntity,
		`{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"Invalid","code":422,"message":"status.stage: Unsupported value"}`)
	mv := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "old", ResourceVersion: "41"}}
	err := w.Update(context.Background(), mv)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "Unsupported value") {
		t.Fatalf("err = %v, want the API server's Invalid with its message", err)
	}
}

// A writer made with As writes as its own field manager, so managedFields
// tell which controller wrote an object's status.
func TestAsNamesTheFieldManager(t *testing.T) {
	w, c, _ := leanFor(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		writer Writer
	}{
		{"lean", As(w, "aipm-operator/test-lean")},
		{"client", As(Client{Client: c}, "aipm-operator/test-client")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mv := newVersion(t, c, "as-"+tt.name)
			mv.Status.Stage = lifecyclev1alpha1.StageCandidate
			if err := tt.writer.Update(ctx, mv); err != nil {
				t.Fatal(err)
			}
			got := &lifecyclev1alpha1.ModelVersion{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(mv), got); err != nil {
				t.Fatal(err)
			}
			var managers []string
			for _, f := range got.ManagedFields {
				if f.Subresource == "status" {
					managers = append(managers, f.Manager)
				}
			}
			want := "aipm-operator/test-" + tt.name
			if len(managers) != 1 || managers[0] != want {
				t.Fatalf("status managers %v, want [%s]", managers, want)
			}
		})
	}
}

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

package apply

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var (
	cfg    *rest.Config
	scheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	env := &envtest.Environment{}
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

// writes counts the write requests (POST, PUT, PATCH, DELETE) sent through it.
type writes struct {
	mu   sync.Mutex
	sent []string
	next http.RoundTripper
}

func (w *writes) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		w.mu.Lock()
		w.sent = append(w.sent, r.Method+" "+r.URL.Path)
		w.mu.Unlock()
	}
	return w.next.RoundTrip(r)
}

// since returns the writes sent since the last call.
func (w *writes) since() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sent
	w.sent = nil
	return s
}

// fixture is a namespace of the test's own (generated, so that -count=N
// can rerun against the same control plane), a client whose writes are
// counted, and an owner ConfigMap in that namespace.
type fixture struct {
	ctx    context.Context
	c      client.Client
	writes *writes
	ns     string
	owner  *corev1.ConfigMap
}

func newFixture(t *testing.T, prefix string) *fixture {
	t.Helper()
	rec := &writes{}
	wcfg := rest.CopyConfig(cfg)
	wcfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	c, err := client.New(wcfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ctx: context.Background(), c: c, writes: rec}
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := c.Create(f.ctx, n); err != nil {
		t.Fatal(err)
	}
	f.ns = n.Name
	f.owner = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "owner"}}
	if err := c.Create(f.ctx, f.owner); err != nil {
		t.Fatal(err)
	}
	rec.since()
	return f
}

// plan is the desired Deployments and Services for the given images, as a
// reconciler builds them: fresh objects, controlled by the owner, stamped.
func (f *fixture) plan(t *testing.T, images map[string]string) ([]*appsv1.Deployment, []*corev1.Service) {
	t.Helper()
	var ds []*appsv1.Deployment
	var ss []*corev1.Service
	for name, image := range images {
		d := deployment(name, image)
		d.Namespace = f.ns
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name, Labels: map[string]string{"app": name}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}
		for _, o := range []client.Object{d, s} {
			if err := controllerutil.SetControllerReference(f.owner, o, scheme); err != nil {
				t.Fatal(err)
			}
			if err := Stamp(o); err != nil {
				t.Fatal(err)
			}
		}
		ds, ss = append(ds, d), append(ss, s)
	}
	return ds, ss
}

// live reads back the namespace's Deployments and Services, as a reconciler
// would list them.
func (f *fixture) live(t *testing.T) ([]*appsv1.Deployment, []*corev1.Service) {
	t.Helper()
	var dl appsv1.DeploymentList
	var sl corev1.ServiceList
	if err := f.c.List(f.ctx, &dl, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	if err := f.c.List(f.ctx, &sl, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	ds := make([]*appsv1.Deployment, len(dl.Items))
	for i := range dl.Items {
		ds[i] = &dl.Items[i]
	}
	ss := make([]*corev1.Service, len(sl.Items))
	for i := range sl.Items {
		ss[i] = &sl.Items[i]
	}
	return ds, ss
}

// sync syncs both kinds and returns the writes it sent.
func (f *fixture) sync(t *testing.T, wantD []*appsv1.Deployment, wantS []*corev1.Service,
	haveD []*appsv1.Deployment, haveS []*corev1.Service) (map[string]*appsv1.Deployment, []string) {
	t.Helper()
	f.writes.since()
	gotD, err := Sync(f.ctx, f.c, f.owner, wantD, haveD)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(f.ctx, f.c, f.owner, wantS, haveS); err != nil {
		t.Fatal(err)
	}
	return gotD, f.writes.since()
}

func (f *fixture) get(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := f.c.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestSyncCreatesThenAnUnchangedPlanWritesNothing(t *testing.T) {
	f := newFixture(t, "apply-unchanged")
	images := map[string]string{"web": "img/web:v1", "api": "img/api:v1"}

	wantD, wantS := f.plan(t, images)
	got, sent := f.sync(t, wantD, wantS, nil, nil)
	if len(sent) != 4 {
		t.Errorf("first sync sent %d writes %v, want 4 creates", len(sent), sent)
	}
	for _, w := range sent {
		if w[:4] != "POST" {
			t.Errorf("write %q: want only creates", w)
		}
	}
	for name := range images {
		if d := got[name]; d == nil || d.UID == "" || d.ResourceVersion == "" {
			t.Errorf("result for %s = %v: want the created answer", name, d)
		}
	}
	if m := f.get(t, "web").ManagedFields; len(m) != 1 || m[0].Manager != FieldOwner {
		t.Errorf("managedFields %+v: want one entry by %s", m, FieldOwner)
	}

	// The next reconcile: a freshly built plan against the objects read back.
	wantD, wantS = f.plan(t, images)
	haveD, haveS := f.live(t)
	got, sent = f.sync(t, wantD, wantS, haveD, haveS)
	if len(sent) != 0 {
		t.Errorf("second sync of the same plan sent %v, want no write", sent)
	}
	for _, h := range haveD {
		if got[h.Name] != h {
			t.Errorf("result for %s: want the have object itself", h.Name)
		}
	}
}

func TestSyncKeepsFieldsOtherManagersOwn(t *testing.T) {
	f := newFixture(t, "apply-others")
	images := map[string]string{"web": "img/web:v1"}
	wantD, wantS := f.plan(t, images)
	f.sync(t, wantD, wantS, nil, nil)

	// An autoscaler scales with a plain Update, a mesh annotates with a merge patch.
	d := f.get(t, "web")
	d.Spec.Replicas = ptr.To[int32](5)
	if err := f.c.Update(f.ctx, d, client.FieldOwner("hpa")); err != nil {
		t.Fatal(err)
	}
	mesh := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"mesh.example/inject":"true"}}}`))
	if err := f.c.Patch(f.ctx, f.get(t, "web"), mesh, client.FieldOwner("mesh")); err != nil {
		t.Fatal(err)
	}
	check := func(when string, wantImage string) {
		t.Helper()
		d := f.get(t, "web")
		if r := ptr.Deref(d.Spec.Replicas, 0); r != 5 {
			t.Errorf("%s: replicas %d, want the autoscaler's 5", when, r)
		}
		if a := d.Annotations["mesh.example/inject"]; a != "true" {
			t.Errorf("%s: mesh annotation %q, want it kept", when, a)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != wantImage {
			t.Errorf("%s: image %s, want %s", when, img, wantImage)
		}
	}

	wantD, wantS = f.plan(t, images)
	haveD, haveS := f.live(t)
	if _, sent := f.sync(t, wantD, wantS, haveD, haveS); len(sent) != 0 {
		t.Errorf("unchanged plan sent %v, want no write", sent)
	}
	check("after an unchanged plan", "img/web:v1")

	wantD, wantS = f.plan(t, map[string]string{"web": "img/web:v2"})
	haveD, haveS = f.live(t)
	got, sent := f.sync(t, wantD, wantS, haveD, haveS)
	// The first change after the create: turn the create's entry into the
	// apply entry, apply (TestSyncRemovesAFieldThePlanDrops).
	if len(sent) != 2 {
		t.Errorf("changed image sent %v, want the Deployment's two PATCHes", sent)
	}
	check("after a changed plan", "img/web:v2")
	if g := got["web"]; g.Annotations["mesh.example/inject"] != "true" || ptr.Deref(g.Spec.Replicas, 0) != 5 {
		t.Errorf("applied answer %v / %v: want it to show the other managers' fields", g.Annotations, g.Spec.Replicas)
	}
}

func TestSyncDeletesOnlyWhatOwnerControls(t *testing.T) {
	f := newFixture(t, "apply-prune")
	wantD, wantS := f.plan(t, map[string]string{"web": "img/web:v1", "old": "img/old:v1"})
	f.sync(t, wantD, wantS, nil, nil)
	stranger := deployment("stranger", "img/stranger:v1")
	stranger.Namespace = f.ns
	if err := f.c.Create(f.ctx, stranger); err != nil {
		t.Fatal(err)
	}

	wantD, wantS = f.plan(t, map[string]string{"web": "img/web:v1"})
	haveD, haveS := f.live(t)
	if len(haveD) != 3 {
		t.Fatalf("have %d Deployments, want web, old and stranger", len(haveD))
	}
	_, sent := f.sync(t, wantD, wantS, haveD, haveS)
	if len(sent) != 2 {
		t.Errorf("sent %v, want the Deployment and the Service old deleted", sent)
	}
	for _, w := range sent {
		if w[:6] != "DELETE" {
			t.Errorf("write %q: want only deletes", w)
		}
	}
	if err := f.c.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: "old"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment old: %v, want NotFound", err)
	}
	f.get(t, "stranger")
	f.get(t, "web")

	// A stale have that still lists old: its delete answers NotFound, which is not an error.
	if _, err := Sync(f.ctx, f.c, f.owner, wantD, haveD); err != nil {
		t.Errorf("sync with a stale have: %v", err)
	}
}

func TestSyncReturnsAPIErrorsWrapped(t *testing.T) {
	f := newFixture(t, "apply-errors")
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "other"}}
	if err := f.c.Create(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	taken := deployment("web", "img/web:v1")
	taken.Namespace = f.ns
	if err := controllerutil.SetControllerReference(other, taken, scheme); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Create(f.ctx, taken); err != nil {
		t.Fatal(err)
	}

	// Applying owner's web would give the object a second controller.
	wantD, _ := f.plan(t, map[string]string{"web": "img/web:v1"})
	haveD, _ := f.live(t)
	_, err := Sync(f.ctx, f.c, f.owner, wantD, haveD)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("err %v: want an Invalid API error, wrapped", err)
	}
	t.Log(err)

	unstamped := deployment("web", "img/web:v1")
	unstamped.Namespace = f.ns
	if _, err := Sync(f.ctx, f.c, f.owner, []*appsv1.Deployment{unstamped}, nil); err == nil {
		t.Error("an unstamped plan was accepted")
	}
}

func TestSyncRemovesAFieldThePlanDrops(t *testing.T) {
	f := newFixture(t, "apply-drop")
	images := map[string]string{"web": "img/web:v1"}
	wantD, wantS := f.plan(t, images)
	wantD[0].Labels["tier"] = "gold"
	wantD[0].Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	if err := Stamp(wantD[0]); err != nil {
		t.Fatal(err)
	}
	f.sync(t, wantD, wantS, nil, nil)

	// The first change after the create drops a label and an env var; both
	// must go, although the create recorded them under an Update entry.
	drop := func(when string, label string, env []corev1.EnvVar, wantWrites int) {
		t.Helper()
		wantD, wantS := f.plan(t, images)
		if label != "" {
			wantD[0].Labels[label] = "gold"
		}
		wantD[0].Spec.Template.Spec.Containers[0].Env = env
		if err := Stamp(wantD[0]); err != nil {
			t.Fatal(err)
		}
		haveD, haveS := f.live(t)
		if _, sent := f.sync(t, wantD, wantS, haveD, haveS); len(sent) != wantWrites {
			t.Errorf("%s: sent %v, want %d writes", when, sent, wantWrites)
		}
		d := f.get(t, "web")
		if _, ok := d.Labels["tier"]; ok && label == "" {
			t.Errorf("%s: label tier still set: %v", when, d.Labels)
		}
		if got := d.Spec.Template.Spec.Containers[0].Env; !reflect.DeepEqual(got, env) {
			t.Errorf("%s: env %v, want %v", when, got, env)
		}
		if m := d.ManagedFields; len(m) != 1 || m[0].Manager != FieldOwner || m[0].Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("%s: managedFields %+v: want one Apply entry by %s", when, m, FieldOwner)
		}
	}
	// turn the create's entry into the apply entry, apply
	drop("first change", "", []corev1.EnvVar{{Name: "A", Value: "1"}}, 2)
	drop("second change", "", nil, 1)
}

// Another manager's apply sorts its entry before the create's: the turn is
// refused, and the first change upgrades the way client-go does.
func TestSyncRemovesAFieldThePlanDropsAfterAnotherApply(t *testing.T) {
	f := newFixture(t, "apply-drop-other")
	images := map[string]string{"web": "img/web:v1"}
	wantD, wantS := f.plan(t, images)
	wantD[0].Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	if err := Stamp(wantD[0]); err != nil {
		t.Fatal(err)
	}
	f.sync(t, wantD, wantS, nil, nil)
	mesh := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","annotations":{"mesh.example/inject":"true"}}}`)
	if err := f.c.Patch(f.ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web"}},
		client.RawPatch(types.ApplyPatchType, mesh), client.FieldOwner("mesh")); err != nil {
		t.Fatal(err)
	}

	wantD, wantS = f.plan(t, images)
	wantD[0].Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
	if err := Stamp(wantD[0]); err != nil {
		t.Fatal(err)
	}
	haveD, haveS := f.live(t)
	// the refused turn, apply, upgrade, apply
	if _, sent := f.sync(t, wantD, wantS, haveD, haveS); len(sent) != 4 {
		t.Errorf("sent %v, want 4 writes", sent)
	}
	d := f.get(t, "web")
	if got := d.Spec.Template.Spec.Containers[0].Env; len(got) != 1 || got[0].Name != "A" {
		t.Errorf("env %v, want only A", got)
	}
	if d.Annotations["mesh.example/inject"] != "true" {
		t.Errorf("annotations %v: the mesh's annotation went", d.Annotations)
	}
	for _, m := range d.ManagedFields {
		if m.Manager == FieldOwner && m.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("managedFields %+v: %s keeps an %s entry", d.ManagedFields, FieldOwner, m.Operation)
		}
	}
	if Hash(d) != Hash(wantD[0]) || created(d) {
		t.Errorf("hash annotation %q: want %q without the create's mark", d.Annotations[AnnotationHash], Hash(wantD[0]))
	}
}

func TestSyncCreateByApplyMakesTheFirstChangeOneWrite(t *testing.T) {
	f := newFixture(t, "apply-create")
	images := map[string]string{"web": "img/web:v1"}
	wantD, wantS := f.plan(t, images)
	gotD, err := Sync(f.ctx, f.c, f.owner, wantD, nil, CreateByApply("web"))
	if err != nil {
		t.Fatal(err)
	}
	if sent := f.writes.since(); len(sent) != 1 || sent[0][:5] != "PATCH" {
		t.Errorf("create sent %v, want one apply", sent)
	}
	if d := gotD["web"]; d == nil || d.UID == "" {
		t.Errorf("result %v: want the applied answer", d)
	}
	if _, err := Sync(f.ctx, f.c, f.owner, wantS, nil); err != nil {
		t.Fatal(err)
	}
	if m := f.get(t, "web").ManagedFields; len(m) != 1 || m[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managedFields %+v: want one Apply entry by %s", m, FieldOwner)
	}

	wantD, wantS = f.plan(t, map[string]string{"web": "img/web:v2"})
	haveD, haveS := f.live(t)
	if _, sent := f.sync(t, wantD, wantS, haveD, haveS); len(sent) != 1 {
		t.Errorf("first change sent %v, want one apply", sent)
	}
	if img := f.get(t, "web").Spec.Template.Spec.Containers[0].Image; img != "img/web:v2" {
		t.Errorf("image %s, want img/web:v2", img)
	}
}

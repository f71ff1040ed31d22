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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestStampHashesTheDesiredStateOnly(t *testing.T) {
	base := func() *appsv1.Deployment {
		d := deployment("web", "registry.example/web:v1")
		d.Labels["tier"] = "front"
		d.Annotations = map[string]string{"note": "a"}
		return d
	}
	stamped := func(t *testing.T, obj client.Object) string {
		t.Helper()
		if err := Stamp(obj); err != nil {
			t.Fatal(err)
		}
		h := Hash(obj)
		if len(h) != 32 {
			t.Fatalf("hash %q: want 32 hex digits (16 bytes)", h)
		}
		return h
	}
	want := stamped(t, base())

	for _, tc := range []struct {
		name   string
		change func(d *appsv1.Deployment)
		same   bool
	}{
		{"same content", func(*appsv1.Deployment) {}, true},
		{"a stale hash annotation", func(d *appsv1.Deployment) { d.Annotations[AnnotationHash] = "stale" }, true},
		{"status", func(d *appsv1.Deployment) { d.Status.Replicas = 3; d.Status.ObservedGeneration = 7 }, true},
		{"apiVersion and kind", func(d *appsv1.Deployment) { d.APIVersion, d.Kind = "apps/v1", "Deployment" }, true},
		{"server-set metadata", func(d *appsv1.Deployment) {
			d.ResourceVersion, d.UID, d.Generation = "42", "u-1", 3
			d.CreationTimestamp = metav1.Now()
		}, true},
		{"owner references", func(d *appsv1.Deployment) {
			d.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "o", UID: "u", Controller: ptr.To(true)}}
		}, true},
		{"a changed label", func(d *appsv1.Deployment) { d.Labels["tier"] = "back" }, false},
		{"an added label", func(d *appsv1.Deployment) { d.Labels["extra"] = "x" }, false},
		{"a changed annotation", func(d *appsv1.Deployment) { d.Annotations["note"] = "b" }, false},
		{"a removed annotation", func(d *appsv1.Deployment) { delete(d.Annotations, "note") }, false},
		{"a changed image", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "registry.example/web:v2" }, false},
		{"replicas set", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](2) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			tc.change(d)
			if got := stamped(t, d); (got == want) != tc.same {
				t.Errorf("hash %s, base %s: same=%v, want same=%v", got, want, got == want, tc.same)
			}
		})
	}
}

func TestStampHashesOtherTopLevelFields(t *testing.T) {
	cm := func(v string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": v}}
	}
	a, b, a2 := cm("1"), cm("2"), cm("1")
	for _, o := range []client.Object{a, b, a2} {
		if err := Stamp(o); err != nil {
			t.Fatal(err)
		}
	}
	if Hash(a) != Hash(a2) {
		t.Errorf("equal data: %s != %s", Hash(a), Hash(a2))
	}
	if Hash(a) == Hash(b) {
		t.Errorf("changed data, same hash %s", Hash(a))
	}
}

func TestStampIsIdempotentAndHashReadsTheStamp(t *testing.T) {
	d := deployment("web", "img:v1")
	if Hash(d) != "" {
		t.Fatalf("unstamped object has hash %q", Hash(d))
	}
	if err := Stamp(d); err != nil {
		t.Fatal(err)
	}
	first := Hash(d)
	if err := Stamp(d); err != nil {
		t.Fatal(err)
	}
	if Hash(d) != first {
		t.Errorf("restamping changed the hash: %s -> %s", first, Hash(d))
	}
	if len(d.Annotations) != 1 {
		t.Errorf("annotations %v: want only the hash", d.Annotations)
	}
}

// deployment is a minimal valid Deployment: a selector matching the pod
// template's labels and one container.
func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
			},
		},
	}
}

// BenchmarkStamp measures stamping a serving Deployment, which every
// product reconcile does for each object of its plan.
func BenchmarkStamp(b *testing.B) {
	d := deployment("shop-v1", "example.com/model-server:1")
	b.ReportAllocs()
	for b.Loop() {
		if err := Stamp(d); err != nil {
			b.Fatal(err)
		}
	}
}

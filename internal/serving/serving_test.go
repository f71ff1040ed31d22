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

package serving

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func TestSplit(t *testing.T) {
	tests := []struct{ total, weight, stable, canary int32 }{
		{4, 0, 4, 0},
		{4, 25, 3, 1},
		{4, 50, 2, 2},
		{4, 60, 1, 3},
		{4, 99, 1, 4},
		{4, 100, 0, 4},
		{1, 10, 1, 1},
		{10, 5, 9, 1},
		{0, 50, 0, 0},
	}
	for _, tt := range tests {
		s, c := Split(tt.total, tt.weight)
		if s != tt.stable || c != tt.canary {
			t.Errorf("Split(%d, %d) = %d/%d, want %d/%d", tt.total, tt.weight, s, c, tt.stable, tt.canary)
		}
	}
}

func TestObjectName(t *testing.T) {
	if got := ObjectName("fraud", "fraud-v2"); got != "fraud-v2" {
		t.Errorf("prefixed version: %q", got)
	}
	if got := ObjectName("fraud", "v2"); got != "fraud-v2" {
		t.Errorf("short version: %q", got)
	}
	long := ObjectName("fraud", strings.Repeat("x", 100))
	other := ObjectName("fraud", strings.Repeat("x", 99)+"y")
	if len(long) > 63 || long == other {
		t.Errorf("long names %q and %q must fit 63 characters and stay distinct", long, other)
	}
}

func product() *lifecyclev1alpha1.AIProduct {
	return &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud", Namespace: "ml"},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Serving: lifecyclev1alpha1.ServingSpec{
			Replicas: 3, Port: 9000, ModelURIEnv: "MODEL_PATH",
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "risk"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "server", Image: "server:1", Env: []corev1.EnvVar{{Name: "MODEL_PATH", Value: "stale"}, {Name: "LOG", Value: "info"}}},
					{Name: "sidecar", Image: "proxy:1"},
				}},
			},
		}}},
	}
}

func TestDeployment(t *testing.T) {
	p := product()
	d := Deployment(p, Version{Name: "fraud-v2", URI: "s3://m/2", Replicas: 2})
	if d.Name != "fraud-v2" || d.Namespace != "ml" || *d.Spec.Replicas != 2 {
		t.Fatalf("deployment %s/%s replicas %d", d.Namespace, d.Name, *d.Spec.Replicas)
	}
	if d.Spec.Template.Labels["team"] != "risk" || d.Spec.Template.Labels[lifecyclev1alpha1.LabelVersion] != "fraud-v2" ||
		d.Spec.Selector.MatchLabels[lifecyclev1alpha1.LabelProduct] != "fraud" {
		t.Errorf("labels: template %v selector %v", d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if env["MODEL_PATH"] != "s3://m/2" || env[EnvProduct] != "fraud" || env[EnvVersion] != "fraud-v2" {
			t.Errorf("container %s env %v", c.Name, env)
		}
	}
	if p.Spec.Delivery.Serving.Template.Spec.Containers[0].Env[0].Value != "stale" {
		t.Error("rendering changed the product's own template")
	}
	if Hash(d) == "" || Hash(d) != Hash(Deployment(p, Version{Name: "fraud-v2", URI: "s3://m/2", Replicas: 2})) {
		t.Error("the same input must render the same hash")
	}
	if Hash(d) == Hash(Deployment(p, Version{Name: "fraud-v2", URI: "s3://m/2", Replicas: 3})) {
		t.Error("a replica change must change the hash")
	}
}

func TestServices(t *testing.T) {
	p := product()
	s := Service(p)
	if s.Name != "fraud" || s.Spec.Ports[0].Port != 9000 || s.Spec.Selector[lifecyclev1alpha1.LabelVersion] != "" {
		t.Errorf("product service %+v", s.Spec)
	}
	vs := VersionService(p, "fraud-v2")
	if vs.Name != "fraud-v2" || vs.Spec.Selector[lifecyclev1alpha1.LabelVersion] != "fraud-v2" {
		t.Errorf("version service %s %v", vs.Name, vs.Spec.Selector)
	}
}

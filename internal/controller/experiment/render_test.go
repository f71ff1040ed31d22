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

package experiment

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

func TestRender(t *testing.T) {
	product := func(replicas int32, route bool) *lifecyclev1alpha1.AIProduct {
		p := newProduct()
		p.Name = "shop"
		p.Spec.Delivery.Serving.Replicas = replicas
		if route {
			p.Spec.Delivery.Serving.HTTPRoute = &lifecyclev1alpha1.HTTPRouteRef{Name: "web"}
		}
		p.Status.ProductionVersion = "v1"
		return p
	}
	mv := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "v2"},
		Spec: lifecyclev1alpha1.ModelVersionSpec{Artifact: lifecyclev1alpha1.Artifact{URI: "s3://m/v2"}}}
	ab := func(pct int32) *lifecyclev1alpha1.DiscoveryExperiment {
		return &lifecyclev1alpha1.DiscoveryExperiment{Name: "ab", Type: lifecyclev1alpha1.ExperimentABTest, ModelVersion: "v2", TrafficPercent: ptr.To(pct)}
	}
	tests := []struct {
		name      string
		product   *lifecyclev1alpha1.AIProduct
		exp       *lifecyclev1alpha1.DiscoveryExperiment
		replicas  int32
		component string
		service   bool
	}{
		{"a sandbox runs one pod behind its own Service", product(4, false),
			&lifecyclev1alpha1.DiscoveryExperiment{Name: "sb", Type: lifecyclev1alpha1.ExperimentSandbox, ModelVersion: "v2"},
			1, ComponentExperiment, true},
		{"an ABTest without a route joins the product's Service, sized to its share", product(4, false), ab(20),
			1, serving.ComponentModel, false},
		{"half the traffic takes as many pods as production", product(3, false), ab(50),
			3, serving.ComponentModel, false},
		{"an ABTest through a route gets its own Service", product(4, true), ab(20),
			1, ComponentExperiment, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, svc := render(tt.exp, tt.product, mv)
			name := ObjectName("shop", tt.exp.Name)
			if d.Name != name || *d.Spec.Replicas != tt.replicas || d.Spec.Template.Labels[serving.LabelComponent] != tt.component {
				t.Fatalf("Deployment %s with %d replicas of component %s, want %s, %d, %s",
					d.Name, *d.Spec.Replicas, d.Spec.Template.Labels[serving.LabelComponent], name, tt.replicas, tt.component)
			}
			want := map[string]string{lifecyclev1alpha1.LabelProduct: "shop", lifecyclev1alpha1.LabelExperiment: tt.exp.Name}
			if !maps.Equal(d.Spec.Selector.MatchLabels, want) {
				t.Fatalf("selector %v, want %v: a selector is immutable, so it names neither version nor component", d.Spec.Selector.MatchLabels, want)
			}
			if d.Labels[lifecyclev1alpha1.LabelVersion] != "v2" || d.Labels[LabelExperimentType] != string(tt.exp.Type) {
				t.Fatalf("Deployment labels %v must record the candidate and the type", d.Labels)
			}
			if (svc != nil) != tt.service {
				t.Fatalf("Service %v, want one: %v", svc, tt.service)
			}
			if svc != nil && (svc.Name != name || !maps.Equal(svc.Spec.Selector, want)) {
				t.Fatalf("Service %s selecting %v", svc.Name, svc.Spec.Selector)
			}
		})
	}
}

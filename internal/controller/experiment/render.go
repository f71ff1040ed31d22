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
	"math"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	judging "github.com/aipm-io/aipm-operator/internal/experiment"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// Labels of an experiment's serving objects.
const (
	// LabelExperimentType records on the Deployment the type it was
	// started as, so that a change of type while it runs is seen.
	LabelExperimentType = "lifecycle.aipm.io/experiment-type"
	// ComponentExperiment marks pods that no product Service selects.
	ComponentExperiment = "experiment"
)

// Name is the name of the Experiment object a product keeps for its
// experiment of that name. Experiments are found by it, not by an index:
// a product declares a few, and an index would cost a key per Experiment
// of the fleet.
func Name(product, experiment string) string {
	return serving.Shorten(product+"-"+experiment, 253)
}

// Declared returns the experiments of p's spec whose Experiment objects
// pass keep.
func Declared(p *lifecyclev1alpha1.AIProduct, keep func(e *lifecyclev1alpha1.DiscoveryExperiment) bool) []string {
	if p.Spec.Discovery == nil {
		return nil
	}
	var out []string
	for i := range p.Spec.Discovery.Experiments {
		if e := &p.Spec.Discovery.Experiments[i]; keep == nil || keep(e) {
			out = append(out, Name(p.Name, e.Name))
		}
	}
	return out
}

// ObjectName is the name of the Deployment and Service of a product's
// experiment; the product's route step points its HTTPRoute at the Service
// of that name.
func ObjectName(product, experiment string) string {
	return serving.ObjectName(product, "exp-"+experiment)
}

// render returns the candidate's Deployment and its own Service; no Service
// when an ABTest splits traffic by replicas, since the product's Service
// then selects the candidate's pods beside production's.
func render(e *lifecyclev1alpha1.DiscoveryExperiment, p *lifecyclev1alpha1.AIProduct, mv *lifecyclev1alpha1.ModelVersion) (*appsv1.Deployment, *corev1.Service) {
	name := ObjectName(p.Name, e.Name)
	byReplicas := e.Type == lifecyclev1alpha1.ExperimentABTest &&
		judging.Traffic(p, e) == lifecyclev1alpha1.TrafficSplit && p.Spec.Delivery.Serving.HTTPRoute == nil
	replicas := int32(1)
	if e.Type == lifecyclev1alpha1.ExperimentABTest && e.TrafficPercent != nil {
		// The candidate's share of all pods approximates its share of
		// traffic when the product's Service selects both; through a route
		// it sizes the candidate for the share the route sends it.
		pct := float64(*e.TrafficPercent)
		total := float64(max(p.Spec.Delivery.Serving.Replicas, 1))
		replicas = max(1, int32(math.Ceil(total*pct/(100-pct))))
	}
	d := serving.Deployment(p, serving.Version{Name: mv.Name, URI: mv.Spec.Artifact.URI, Replicas: replicas})
	d.Name = name
	d.Annotations = nil
	d.Labels = objectLabels(p, e, mv)
	pod := d.Spec.Template.Labels
	pod[lifecyclev1alpha1.LabelExperiment] = e.Name
	if !byReplicas {
		pod[serving.LabelComponent] = ComponentExperiment
	}
	// Neither the version nor the component is selected on: a selector is
	// immutable, and a new candidate or type re-renders the Deployment in
	// place. No other Deployment's pods carry this experiment's label.
	selector := map[string]string{lifecyclev1alpha1.LabelProduct: p.Name, lifecyclev1alpha1.LabelExperiment: e.Name}
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: selector}
	if byReplicas {
		return d, nil
	}
	svc := serving.VersionService(p, mv.Name)
	svc.Name = name
	svc.Annotations = nil
	svc.Labels = objectLabels(p, e, mv)
	svc.Spec.Selector = selector
	return d, svc
}

func objectLabels(p *lifecyclev1alpha1.AIProduct, e *lifecyclev1alpha1.DiscoveryExperiment, mv *lifecyclev1alpha1.ModelVersion) map[string]string {
	return map[string]string{
		lifecyclev1alpha1.LabelProduct:    p.Name,
		lifecyclev1alpha1.LabelVersion:    serving.Shorten(mv.Name, 63),
		serving.LabelManagedBy:            serving.ManagedBy,
		lifecyclev1alpha1.LabelExperiment: e.Name,
		LabelExperimentType:               string(e.Type),
	}
}
